using System.Net;
using System.Text.Json.Nodes;

namespace Gateway.Tests.Infrastructure;

// Assertions on the inherited envelope shared by the Api tests.
internal static class ApiAssert
{
    public const string JsonContentType = "application/json; charset=utf-8";

    public static void SameJson(string expected, JsonNode? actual) =>
        Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse(expected), actual),
            $"Expected {JsonNode.Parse(expected)?.ToJsonString()}{Environment.NewLine}but got  {actual?.ToJsonString()}");

    public static async Task<JsonObject> EnvelopeAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal(JsonContentType, response.Content.Headers.ContentType?.ToString());
        return JsonNode.Parse(text)!.AsObject();
    }

    // A failure envelope with exactly this error text; returns its details (or null).
    public static async Task<JsonObject?> FailureAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var body = await EnvelopeAsync(response, status);
        Assert.False(body["success"]!.GetValue<bool>());
        Assert.Equal(error, body["error"]?.GetValue<string>());
        return body["details"] as JsonObject;
    }

    public static async Task<JsonObject> SuccessDataAsync(HttpResponseMessage response)
    {
        var body = await EnvelopeAsync(response, HttpStatusCode.OK);
        Assert.True(body["success"]!.GetValue<bool>());
        return body["data"]!.AsObject();
    }

    public static Task<HttpResponseMessage> PostLeadAsync(this HttpClient client, string json) =>
        client.PostJsonAsync("/api/v1/leads/unsorted", json);
}
