using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Hosting;

// Every malformed request is a 4xx envelope: never a 500, never a crash, nothing sent to amoCRM.
public sealed class MalformedInputTests
{
    private const string Valid = """
        {"source":"website","form_name":"F","form_page":"https://a.uz","referer":"https://g.com","ip":"1.2.3.4","pipeline_id":3177727,
         "lead":{"name":"N","price":5,"custom_fields":[{"field_id":100001,"value":"t"},{"field_id":100003,"enum_id":200001},{"field_id":100004,"enum_ids":[200011]}],"tags":["a",{"name":"b"},{"id":1}]},
         "contact":{"name":"C","phone":"+998901234567","email":"a@b.uz"},"utm":{"utm_source":"g"},"comment":"c"}
        """;

    private static readonly JsonNode?[] Replacements =
    [
        null, JsonValue.Create(true), JsonValue.Create(-1), JsonValue.Create(1.5), JsonValue.Create(""), JsonValue.Create(new string('x', 5000)),
        new JsonArray(), new JsonObject(), JsonValue.Create(1e300), JsonValue.Create(long.MaxValue),
    ];

    // Every value in the valid body, replaced in turn by every kind of wrong value.
    public static IEnumerable<object[]> WrongTypes()
    {
        var root = JsonNode.Parse(Valid)!;
        foreach (var path in Paths(root, ""))
        {
            for (var i = 0; i < Replacements.Length; i++)
            {
                yield return [path, i];
            }
        }
    }

    private static IEnumerable<string> Paths(JsonNode node, string prefix)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    var path = prefix.Length == 0 ? key : prefix + "." + key;
                    yield return path;
                    foreach (var inner in value is null ? [] : Paths(value, path))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var path = prefix + "." + i;
                    yield return path;
                    foreach (var inner in array[i] is null ? [] : Paths(array[i]!, path))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    private static string Replace(string path, JsonNode? replacement)
    {
        var root = JsonNode.Parse(Valid)!;
        var parts = path.Split('.');
        JsonNode parent = root;
        foreach (var part in parts[..^1])
        {
            parent = parent is JsonArray a ? a[int.Parse(part, System.Globalization.CultureInfo.InvariantCulture)]! : parent[part]!;
        }

        var last = parts[^1];
        if (parent is JsonArray list)
        {
            list[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = replacement?.DeepClone();
        }
        else
        {
            parent[last] = replacement?.DeepClone();
        }

        return root.ToJsonString();
    }

    private static async Task AssertNeverA500Async(HttpResponseMessage response, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{what}: {(int)response.StatusCode} {text}");
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            Assert.NotNull(JsonNode.Parse(text)!["success"]);
        }
    }

    [Fact]
    public async Task Every_wrong_value_at_every_field_is_answered_without_a_500()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        using var client = app.CreateKeyedClient();
        var cases = WrongTypes().ToList();

        foreach (var c in cases)
        {
            var (path, index) = ((string)c[0], (int)c[1]);
            var body = Replace(path, Replacements[index]);
            var response = await client.PostJsonAsync("/api/v1/leads/unsorted", body);
            await AssertNeverA500Async(response, $"{path} = {Replacements[index]?.ToJsonString() ?? "null"}");
        }

        Assert.True(cases.Count > 300, $"only {cases.Count} cases");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [InlineData("deep")]
    [InlineData("invalid-utf8")]
    [InlineData("duplicate-keys")]
    [InlineData("form-encoded")]
    [InlineData("no-content-type")]
    [InlineData("huge")]
    [InlineData("array")]
    [InlineData("string")]
    [InlineData("nul")]
    public async Task A_hostile_body_is_a_4xx_envelope(string kind)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        HttpContent content = kind switch
        {
            "deep" => new StringContent(new string('[', 5000) + new string(']', 5000), Encoding.UTF8, "application/json"),
            "invalid-utf8" => new ByteArrayContent([.. "{\"lead\":{\"name\":\""u8.ToArray(), 0xC3, 0x28, 0xFF, .. "\"},\"contact\":{\"phone\":\"1\"}}"u8.ToArray()]),
            "duplicate-keys" => new StringContent("""{"lead":{"name":"a","name":"b"},"contact":{"phone":"1"},"contact":{}}""", Encoding.UTF8, "application/json"),
            "form-encoded" => new FormUrlEncodedContent(new Dictionary<string, string> { ["lead[name]"] = "x" }),
            "no-content-type" => new ByteArrayContent("""{"lead":{"name":"x"},"contact":{"phone":"1"}}"""u8.ToArray()),
            "huge" => new ByteArrayContent(new byte[10 * 1024 * 1024]),
            "array" => new StringContent("[1,2,3]", Encoding.UTF8, "application/json"),
            "string" => new StringContent("\"lead\"", Encoding.UTF8, "application/json"),
            _ => new StringContent("{\"lead\":{\"name\":\"\u0000\"},\"contact\":{\"phone\":\"\u0000\"}}", Encoding.UTF8, "application/json"),
        };
        if (kind == "invalid-utf8")
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        var response = await client.PostAsync("/api/v1/leads/unsorted", content);

        await AssertNeverA500Async(response, kind);
        if (kind is not ("no-content-type" or "nul"))
        {
            Assert.InRange((int)response.StatusCode, 400, 499);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/v1/leads/abc")]
    [InlineData("GET", "/api/v1/leads/99999999999999999999")]
    [InlineData("GET", "/api/v1/leads?status=nope")]
    [InlineData("GET", "/api/v1/leads?limit=-5&after=x")]
    [InlineData("POST", "/api/v1/leads/12/retry")]
    [InlineData("GET", "/api/v1/info/pipelines/-1")]
    [InlineData("GET", "/api/v1/info/pipelines/abc")]
    [InlineData("DELETE", "/api/v1/leads/unsorted")]
    [InlineData("PUT", "/health")]
    [InlineData("GET", "/oauth/callback?code=&state=&referer=")]
    [InlineData("GET", "/oauth/callback?code=x&state=y&referer=%00%00")]
    [InlineData("GET", "/%2e%2e/%2e%2e/etc/passwd")]
    public async Task Odd_routes_and_queries_are_answered_without_a_500(string method, string path)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await AssertNeverA500Async(response, $"{method} {path}");
    }

    [Fact]
    public async Task Abusive_headers_do_not_crash_the_gateway()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(Json.MinimalLead, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("X-API-KEY", [GatewayApp.ApiKey, GatewayApp.ApiKey]);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 5000));
        request.Headers.TryAddWithoutValidation("Origin", new string('o', 5000));

        var response = await client.SendAsync(request);

        await AssertNeverA500Async(response, "abusive headers");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
