using System.Text.Json.Nodes;
using Gateway.Accounts;
using Gateway.Hosting;
using Gateway.Outbox;
using Gateway.Sources;

namespace Gateway.AdminConsole;

// Replay many at once from the Leads page: dead letters back to the queue, rejected submissions through the mapping again.
// Each id is answered on its own; one that cannot be replayed (not found, not failed) does not stop the others.
internal static class ConsoleReplay
{
    public const int MaxIds = 100;

    // POST /api/v1/admin/leads/replay {"ids":[…]}: every failed lead among them queued again (attempts from zero).
    public static async Task<IResult> LeadsAsync(HttpContext context, AccountRegistry registry, LeadStore store, OutboxSignal signal, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var read = await IdsAsync(context);
        if (read.Error is { } error)
        {
            return error;
        }

        var replayed = new JsonArray();
        var skipped = new JsonArray();
        foreach (var id in read.Ids!)
        {
            if (await store.RetryFailedAsync(account.Key, id, cancellationToken) > 0)
            {
                replayed.Add((JsonNode)id);
                continue;
            }

            var row = await store.GetAsync(account.Key, id, cancellationToken);
            skipped.Add((JsonNode)new JsonObject { ["id"] = id, ["reason"] = row is null ? "not_found" : "not_failed", ["status"] = row?.Status });
        }

        if (replayed.Count > 0)
        {
            signal.Ring();
        }

        return Envelope.Ok(new JsonObject { ["replayed"] = replayed, ["skipped"] = skipped }, $"{replayed.Count} of {read.Ids.Count} leads queued for another delivery");
    }

    // POST /api/v1/admin/submissions/replay {"ids":[…]}: each rejected submission mapped again with the profiles as they are now.
    public static async Task<IResult> SubmissionsAsync(HttpContext context, AccountRegistry registry, SubmissionStore store, SubmissionIntake intake, CancellationToken cancellationToken)
    {
        if (CallerAccount.Of(context, registry) is not { } account)
        {
            return CallerAccount.NotFound();
        }

        var read = await IdsAsync(context);
        if (read.Error is { } error)
        {
            return error;
        }

        var results = new JsonArray();
        var accepted = 0;
        foreach (var id in read.Ids!)
        {
            var row = await store.GetAsync(account.Key, id, cancellationToken);
            if (row is null || row.Status == SubmissionStatus.Accepted)
            {
                results.Add((JsonNode)new JsonObject { ["id"] = id, ["status"] = row?.Status, ["lead_id"] = row?.LeadId, ["reason"] = row is null ? "not_found" : "already_accepted" });
                continue;
            }

            var outcome = await intake.ReplayAsync(account, row);
            accepted += outcome.Status == SubmissionStatus.Accepted ? 1 : 0;
            results.Add((JsonNode)new JsonObject
            {
                ["id"] = id,
                ["status"] = outcome.Status,
                ["lead_id"] = outcome.LeadId,
                ["problems"] = outcome.Problems.Count == 0 ? null : new JsonObject(outcome.Problems.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            });
        }

        return Envelope.Ok(new JsonObject { ["submissions"] = results }, $"{accepted} of {read.Ids.Count} submissions replayed and queued for delivery");
    }

    private const string IdsRule = "ids must be a list of 1 to 100 ids";

    private sealed record ReadIds(IReadOnlyList<long>? Ids, IResult? Error);

    private static async Task<ReadIds> IdsAsync(HttpContext context)
    {
        var body = await JsonBody.ReadAsync(context);
        if (body.Error is not null)
        {
            return new ReadIds(null, body.Error);
        }

        if (body.Root?["ids"] is not JsonArray { Count: > 0 } list)
        {
            return new ReadIds(null, Envelope.ValidationFailed(new Dictionary<string, string> { ["ids"] = IdsRule }));
        }

        if (list.Count > MaxIds)
        {
            return new ReadIds(null, Envelope.ValidationFailed(new Dictionary<string, string> { ["ids"] = $"at most {MaxIds} ids at once (got {list.Count})" }));
        }

        var ids = new List<long>(list.Count);
        foreach (var item in list)
        {
            if (item is not JsonValue value || !value.TryGetValue<long>(out var id) || id <= 0)
            {
                return new ReadIds(null, Envelope.ValidationFailed(new Dictionary<string, string> { ["ids"] = IdsRule }));
            }

            ids.Add(id);
        }

        return new ReadIds([.. ids.Distinct()], null);
    }
}
