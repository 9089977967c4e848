using System.Net;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Outbox;

internal static class OutboxTestKit
{
    public static string Lead(int i, string extra = "") =>
        $$$"""{"lead":{"name":"Lead {{{i}}}"{{{extra}}}},"contact":{"phone":"+99890{{{i:D7}}}"}}""";

    public static async Task<long> PostQueuedAsync(this HttpClient client, string body, HttpStatusCode expected = HttpStatusCode.Accepted)
    {
        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", body);
        var envelope = await ApiAssert.EnvelopeAsync(response, expected);
        return envelope["data"]?["id"]?.GetValue<long>() ?? envelope["details"]!["id"]!.GetValue<long>();
    }

    public static async Task<JsonObject> LeadAsync(this HttpClient client, long id) =>
        await ApiAssert.SuccessDataAsync(await client.GetAsync($"/api/v1/leads/{id}"));

    public static async Task<bool> AllDeliveredAsync(this HttpClient client, IEnumerable<long> ids)
    {
        foreach (var id in ids)
        {
            if ((string?)(await client.LeadAsync(id))["status"] != "delivered")
            {
                return false;
            }
        }

        return true;
    }

    public static void AssertEachDeliveredOnce(AmoEmulator amo, int expected)
    {
        var sourceUids = amo.State.Unsorted.Select(u => u.SourceUid).ToList();
        Assert.Equal(expected, sourceUids.Distinct().Count());
        Assert.Equal(expected, sourceUids.Count);
    }
}
