using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Emulator;

// The bodies and content types amoCRM (and the nginx in front of it) answer with.
internal static class AmoResults
{
    public const string HalJson = "application/hal+json";
    public const string ProblemJson = "application/problem+json";
    public const string Json = "application/json";
    public const string Html = "text/html";
    public const string OAuthProblemType = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson";

    private static readonly JsonSerializerOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize(JsonNode node) => node.ToJsonString(s_json);

    public static IResult Hal(JsonNode body) => Results.Text(Serialize(body), HalJson, statusCode: 200);

    public static IResult PlainJson(JsonNode body, int status = 200) => Results.Text(Serialize(body), Json, statusCode: status);

    public static IResult NoContent() => Results.StatusCode(204);

    public static IResult Problem(int status, string title, string detail) => Results.Text(
        Serialize(new JsonObject
        {
            ["title"] = title,
            ["type"] = "https://httpstatus.es/" + status.ToString(CultureInfo.InvariantCulture),
            ["status"] = status,
            ["detail"] = detail,
        }),
        ProblemJson,
        statusCode: status);

    public static IResult BadRequest(string detail) => Problem(400, "Bad Request", detail);

    // amoCRM answers the same for an expired, revoked or garbage token.
    public static IResult Unauthorized() => Problem(401, "Unauthorized", "Invalid user name or password");

    public static IResult NotFound() => Problem(404, "Not Found", "Not Found");

    public static IResult PaymentRequired() => Problem(402, "Payment Required", "Payment Required");

    public static IResult ServerError() => Problem(500, "Internal Server Error", "Internal Server Error");

    public static IResult OAuthProblem(int status, string hint) => Results.Text(
        Serialize(new JsonObject
        {
            ["hint"] = hint,
            ["title"] = "Некорректный запрос",
            ["type"] = OAuthProblemType,
            ["status"] = status,
            ["detail"] = "В запросе отсутствует ряд параметров или параметры невалидны",
        }),
        ProblemJson,
        statusCode: status);

    public static IResult ValidationFailed(IEnumerable<ItemValidation> items)
    {
        var entries = new JsonArray();
        foreach (var item in items)
        {
            var errors = new JsonArray();
            foreach (var error in item.Errors)
            {
                errors.Add(new JsonObject { ["code"] = error.Code, ["path"] = error.Path, ["detail"] = error.Detail });
            }

            entries.Add(new JsonObject { ["request_id"] = item.RequestId, ["errors"] = errors });
        }

        return Results.Text(
            Serialize(new JsonObject
            {
                ["validation-errors"] = entries,
                ["title"] = "Bad Request",
                ["type"] = "https://httpstatus.es/400",
                ["status"] = 400,
                ["detail"] = "Request validation failed",
            }),
            ProblemJson,
            statusCode: 400);
    }

    // nginx's own error pages: HTML whatever the client accepts, and no Retry-After on a 429.
    public static IResult Nginx(int status) => Results.Text(NginxPage(status), Html, statusCode: status);

    public static string NginxPage(int status)
    {
        var line = status.ToString(CultureInfo.InvariantCulture) + " " + status switch
        {
            403 => "Forbidden",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            503 => "Service Temporarily Unavailable",
            504 => "Gateway Time-out",
            _ => "Error",
        };
        return $"<html><head><title>{line}</title></head><body><center><h1>{line}</h1></center><hr><center>nginx</center></body></html>";
    }

    public static string BaseUrl(HttpRequest request) => request.Scheme + "://" + request.Host.Value;

    public static JsonObject Link(string href) => new() { ["self"] = new JsonObject { ["href"] = href } };
}
