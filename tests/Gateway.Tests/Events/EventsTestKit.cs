using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Events;

internal static class EventsTestKit
{
    public const string BotToken = "123456789:AAtest-bot-token-never-logged";
    public const string ShopKey = "shop-key-cccccccccccccccccc";
    public const string CallbackSecret = "callback-secret-0123456789";

    public static Uri Sink(AmoEmulator amo, string name) => new(amo.BaseUrl, "/_emulator/sink/" + name);

    // A gateway with the shop key (its callback to the given URL), the subscriptions given, Telegram pointed at the
    // emulator's stand-in; private callbacks allowed (the stand-ins are on loopback) unless a test says otherwise.
    public static GatewayApp App(AmoEmulator amo, TestTimeProvider? clock = null, Uri? callbackUrl = null, string? subscriptions = null, IDictionary<string, string?>? settings = null, string? dir = null)
    {
        dir ??= Directory.CreateTempSubdirectory("gateway-test-").FullName;
        var callback = callbackUrl is null ? "" : $"\"callback_url\":\"{callbackUrl}\",\"callback_secret\":\"{CallbackSecret}\"";
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("shop", ShopKey, callback));
        var all = new Dictionary<string, string?>
        {
            ["ALLOW_PRIVATE_CALLBACKS"] = "true",
            ["TELEGRAM_BOT_TOKEN"] = BotToken,
            ["TELEGRAM_API_URL"] = new Uri(amo.BaseUrl, "/_emulator/telegram/").ToString(),
        };
        if (subscriptions is not null)
        {
            var path = Path.Combine(dir, "subscriptions.json");
            File.WriteAllText(path, subscriptions);
            all["SUBSCRIPTIONS_FILE"] = path;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return new GatewayApp(amo, clock, dir, all);
    }

    // The README's verification, written again from the README: HMAC-SHA256(secret, "<t>.<body>"), hex, compared in constant time.
    public static bool Verifies(SinkRequest request, string secret)
    {
        var header = request.Headers["X-Gateway-Signature"];
        var parts = header.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(parts["t"] + "." + request.Body));
        return parts["t"] == request.Headers["X-Gateway-Timestamp"]
            && CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(parts["v1"]));
    }

    public static async Task<string> WebhookPathAsync(HttpClient admin)
    {
        var data = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/events/amocrm-webhook"));
        return (string)data["path"]!;
    }

    public static async Task<JsonArray> DeliveriesAsync(HttpClient admin, string? status = null)
    {
        var data = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/events/deliveries" + (status is null ? "" : "?status=" + status)));
        return (JsonArray)data["deliveries"]!;
    }

    public static async Task PostLeadAsync(HttpClient client, int i)
    {
        var phone = "+99890" + i.ToString("D7", CultureInfo.InvariantCulture);
        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", $$$"""{"source":"site","lead":{"name":"Order {{{i}}}"},"contact":{"name":"Dilnoza {{{i}}}","phone":"{{{phone}}}"}}""");
        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
    }

    public static JsonObject Json(SinkRequest request) => (JsonObject)JsonNode.Parse(request.Body)!;
}
