using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Emulator.Tests;

// Small helpers to talk to a running emulator the way the gateway does: real HTTP over loopback.
internal static class Amo
{
    public static Task<AmoEmulator> StartAsync(Action<EmulatorOptions>? configure = null, TimeProvider? time = null)
    {
        // Most tests make a handful of calls in a burst; only the rate-limit test wants the limiter on.
        var options = new EmulatorOptions { RateLimitPerSecond = 0 };
        configure?.Invoke(options);
        return AmoEmulator.StartAsync(options, time);
    }

    public static HttpClient Client(AmoEmulator amo, string? bearer = null)
    {
        var http = new HttpClient { BaseAddress = amo.BaseUrl };
        if (bearer is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return http;
    }

    public static Task<HttpResponseMessage> ExchangeCodeAsync(HttpClient http, EmulatorOptions options, string code) =>
        http.PostAsync("/oauth2/access_token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["client_id"] = options.ClientId,
            ["client_secret"] = options.ClientSecret,
            ["code"] = code,
            ["redirect_uri"] = options.RedirectUri,
        }));

    // JSON, as the official PHP library sends it.
    public static Task<HttpResponseMessage> RefreshAsync(HttpClient http, EmulatorOptions options, string refreshToken) =>
        http.PostAsync("/oauth2/access_token", Json(new JsonObject
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = options.ClientId,
            ["client_secret"] = options.ClientSecret,
            ["refresh_token"] = refreshToken,
            ["redirect_uri"] = options.RedirectUri,
        }));

    public static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static JsonObject UnsortedItem(string requestId, params JsonObject[] customFields) => new()
    {
        ["request_id"] = requestId,
        ["source_uid"] = "gateway-" + requestId,
        ["source_name"] = "Website form",
        ["pipeline_id"] = EmulatorSeed.MainPipelineId,
        ["metadata"] = new JsonObject
        {
            ["form_id"] = "contact-form",
            ["form_name"] = "Contact us",
            ["form_page"] = "https://example.com/contact",
            ["form_sent_at"] = 1_700_000_000,
            ["ip"] = "203.0.113.7",
        },
        ["_embedded"] = new JsonObject
        {
            ["leads"] = new JsonArray(new JsonObject
            {
                ["name"] = "Lead " + requestId,
                ["price"] = 1500,
                ["custom_fields_values"] = new JsonArray([.. customFields]),
            }),
            ["contacts"] = new JsonArray(new JsonObject
            {
                ["first_name"] = "Aziza",
                ["custom_fields_values"] = new JsonArray(new JsonObject
                {
                    ["field_code"] = "PHONE",
                    ["values"] = new JsonArray(new JsonObject { ["value"] = "+998901234567", ["enum_code"] = "MOB" }),
                }),
            }),
        },
    };

    public static JsonObject Field(long fieldId, string value) => new()
    {
        ["field_id"] = fieldId,
        ["values"] = new JsonArray(new JsonObject { ["value"] = value }),
    };
}
