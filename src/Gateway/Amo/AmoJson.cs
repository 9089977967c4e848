using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Amo;

// amoCRM bodies are read defensively: a wrong type is treated as absent, never thrown.
internal static class AmoJson
{
    public static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static long? Long(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<long>(out var number) ? number : null;

    // amoCRM's problem bodies: the OAuth ones carry a hint, the API ones a title; both may add a detail.
    public static string DescribeProblem(JsonObject problem) =>
        string.Join(": ", new[] { Text(problem["hint"]) ?? Text(problem["title"]), Text(problem["detail"]) }.Where(s => !string.IsNullOrWhiteSpace(s)));

    public static JsonObject? TryParseObject(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
