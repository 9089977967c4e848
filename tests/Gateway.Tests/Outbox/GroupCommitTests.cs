using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

public sealed class GroupCommitTests
{
    [Fact]
    public async Task Concurrent_intakes_repeating_idempotency_keys_store_each_key_once_and_answer_every_repeat_with_its_first_lead()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        // Sent together, so most share a group commit: 40 without a key, and 5 keys sent 4 times each (with their first body).
        var plain = Enumerable.Range(0, 40).Select(i => SendAsync(client, null, OutboxTestKit.Lead(i)));
        var keyed = Enumerable.Range(0, 20).Select(i => SendAsync(client, $"order-{i % 5}", OutboxTestKit.Lead(100 + (i % 5))));
        var answers = await Task.WhenAll(plain.Concat(keyed));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Status));
        Assert.Equal(40, answers.Take(40).Select(a => a.Id).Distinct().Count());
        var byKey = answers.Skip(40).Select((a, i) => (Key: i % 5, a.Id)).GroupBy(a => a.Key).ToList();
        Assert.All(byKey, g => Assert.Single(g.Select(a => a.Id).Distinct()));
        Assert.Equal(45, answers.Select(a => a.Id).Distinct().Count());
        var queue = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/diagnostics/queue"));
        Assert.Equal(45, queue["depth"]!.GetValue<long>());
    }

    private static async Task<(HttpStatusCode Status, long Id)> SendAsync(HttpClient client, string? key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        using var response = await client.SendAsync(request);
        var envelope = await response.ReadObjectAsync();
        return (response.StatusCode, (envelope["data"]?["id"] ?? envelope["details"]?["id"])!.GetValue<long>());
    }
}
