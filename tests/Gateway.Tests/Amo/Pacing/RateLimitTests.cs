using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.Amo.Pacing;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Delivery_stays_under_seven_requests_per_second_without_a_single_429()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(rateLimitPerSecond: 7));
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["OUTBOX_BATCH_SIZE"] = "1", ["OUTBOX_WORKERS"] = "4" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(i, "") .Replace("}}", "},\"comment\":\"note\"}", StringComparison.Ordinal))));
        var ids = new List<long>();
        foreach (var response in responses)
        {
            ids.Add((await response.ReadObjectAsync())["data"]!["id"]!.GetValue<long>());
        }

        await Eventually.TrueAsync(async () => amo.State.Notes.Count == 30 && await client.AllDeliveredAsync(ids), "30 leads and 30 notes", TimeSpan.FromSeconds(30));

        Assert.Equal(0, amo.State.RateLimitedResponses);
        Assert.InRange(amo.State.MaxRequestsInAnySecond(), 1, 7);
        Assert.Equal(60, amo.State.Requests.Count);
    }
}
