using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Gateway.Hosting;

// The inherited wire format: {"success":true,"message","data"} or {"success":false,"error","details"}.
public sealed class Envelope
{
    [JsonPropertyName("success")]
    public bool Success { get; init; }

    [JsonPropertyName("message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; init; }

    [JsonPropertyName("data")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public object? Data { get; init; }

    [JsonPropertyName("error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    [JsonPropertyName("details")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public object? Details { get; init; }

    // The generated metadata (WireJson) with the wire's own escaping, which source generation options cannot express.
    internal static readonly JsonSerializerOptions Json = new(WireJson.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    internal static readonly JsonTypeInfo<Envelope> TypeInfo = (JsonTypeInfo<Envelope>)Json.GetTypeInfo(typeof(Envelope));

    internal static JsonTypeInfo<T> InfoOf<T>() => (JsonTypeInfo<T>)Json.GetTypeInfo(typeof(T));

    internal static IResult Ok(object? data, string? message = null) =>
        Results.Json(new Envelope { Success = true, Message = message, Data = data }, TypeInfo, statusCode: StatusCodes.Status200OK);

    internal static IResult Created(object? data, string? message = null) =>
        Results.Json(new Envelope { Success = true, Message = message, Data = data }, TypeInfo, statusCode: StatusCodes.Status201Created);

    internal static IResult Accepted(object? data, string? message = null) =>
        Results.Json(new Envelope { Success = true, Message = message, Data = data }, TypeInfo, statusCode: StatusCodes.Status202Accepted);

    internal static IResult Fail(int status, string error, object? details = null) =>
        Results.Json(new Envelope { Success = false, Error = error, Details = details }, TypeInfo, statusCode: status);

    internal static IResult ValidationFailed(Dictionary<string, string> details) =>
        Fail(StatusCodes.Status422UnprocessableEntity, "Validation failed", details);

    internal static Task WriteAsync(HttpContext context, int status, Envelope envelope)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(envelope, TypeInfo, "application/json; charset=utf-8", context.RequestAborted);
    }
}
