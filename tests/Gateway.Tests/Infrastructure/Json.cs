using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Gateway.Tests.Infrastructure;

internal static class Json
{
    public static async Task<JsonObject> ReadObjectAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, string json) =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body);

    public const string MinimalLead = """{"lead":{"name":"Yangi mijoz"},"contact":{"phone":"+998901234567"}}""";
}
