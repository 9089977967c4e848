using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Outbox;
using Microsoft.Extensions.Options;

namespace Gateway.Contacts;

// Sends claimed follow-up tasks in one POST /api/v4/tasks (≤ 50, through the account's pacing like every call) and
// settles each. A task whose earlier answer was lost is looked for first (GET /api/v4/tasks by its lead, matched by
// text and deadline), so a task is never created twice. A task amoCRM refuses fails alone: its lead stays delivered.
internal sealed partial class FollowUpTaskSender(
    AmoClient amo,
    TaskStore store,
    TeamDirectory directory,
    LeadCallStore calls,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    ILogger<FollowUpTaskSender> logger) : IFollowUpTaskSender
{
    // A deadline closer than this when the task goes out is computed again from now: amoCRM refuses one in the past.
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMinutes(1);

    public async Task<BatchVerdict> DeliverAsync(string account, IReadOnlyList<ClaimedTask> tasks, CancellationToken cancellationToken)
    {
        var token = tasks[0].ClaimToken;
        var specs = new Dictionary<long, TaskSpec>();
        var settled = new List<TaskSettlement>();
        foreach (var task in tasks)
        {
            if (task.Unreadable is null && TaskSpec.Read(task.Spec) is { } spec)
            {
                specs[task.Id] = spec;
            }
            else
            {
                settled.Add(new TaskSettlement(task.Id, Outbox.TaskStatus.Failed, null, "the stored task cannot be read: " + (task.Unreadable ?? "bad settings"), null, true));
            }
        }

        var open = tasks.Where(t => specs.ContainsKey(t.Id)).ToList();
        if (open.Where(t => t.UnconfirmedSince is not null && t.DueAt is not null).ToList() is { Count: > 0 } unconfirmed)
        {
            var lookPath = "api/v4/tasks?filter[entity_type]=leads&" + string.Join('&', unconfirmed.Select(t => t.EntityId).Distinct().Select(id => "filter[entity_id][]=" + id.ToString(CultureInfo.InvariantCulture)));
            var look = await calls.TracedAsync(account, [.. unconfirmed.Select(t => (t.Id, RequestId(t), (string?)null))], LeadCallStep.Task, "GET", lookPath,
                path => amo.GetAllPagesAsync(account, path, "tasks", new AmoPriority(AmoCallClass.Delivery), cancellationToken));
            if (!look.Ok)
            {
                settled.AddRange(open.Select(t => Later(t, look, outcomeKnown: false)));
                await store.SettleAsync(token, settled, CancellationToken.None);
                return BatchVerdict.Stop;
            }

            var existing = (look.Body?["_embedded"]?["tasks"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            foreach (var task in unconfirmed)
            {
                var due = task.DueAt!.Value.ToUnixTimeSeconds();
                if (existing.FirstOrDefault(e => AmoJson.Long(e["entity_id"]) == task.EntityId && AmoJson.Long(e["complete_till"]) == due
                    && AmoJson.Text(e["text"]) == specs[task.Id].Text) is { } found)
                {
                    settled.Add(new TaskSettlement(task.Id, Outbox.TaskStatus.Delivered, AmoJson.Long(found["id"]), null, null, true));
                    open.Remove(task);
                }
            }
        }

        if (open.Count == 0)
        {
            await store.SettleAsync(token, settled, CancellationToken.None);
            return BatchVerdict.Continue;
        }

        // A deadline that passed while the task waited (its lead queued through an outage) is computed again from now.
        var now = time.GetUtcNow();
        var deadlines = open.ToDictionary(t => t.Id, t => t.DueAt);
        if (open.Where(t => t.DueAt is not { } due || due <= now + DeadlineMargin).ToList() is { Count: > 0 } late)
        {
            TimeZoneInfo zone = TimeZoneInfo.Utc;
            if (late.Any(t => specs[t.Id].Hours is not null))
            {
                var (found, failure) = await directory.ZoneAsync(account, cancellationToken);
                if (failure is not null)
                {
                    settled.AddRange(open.Select(t => Later(t, failure, outcomeKnown: true)));
                    await store.SettleAsync(token, settled, CancellationToken.None);
                    return BatchVerdict.Stop;
                }

                zone = found!;
            }

            foreach (var task in late)
            {
                var spec = specs[task.Id];
                deadlines[task.Id] = TaskDue.Compute(now + DeadlineMargin, spec.DueMinutes, spec.Hours, zone);
            }

            await store.SetDueAsync(token, late.Select(t => (t.Id, deadlines[t.Id]!.Value)).ToList(), CancellationToken.None);
        }

        var body = new JsonArray([.. open.Select(t =>
        {
            var item = new JsonObject
            {
                ["text"] = specs[t.Id].Text,
                ["complete_till"] = deadlines[t.Id]!.Value.ToUnixTimeSeconds(),
                ["entity_id"] = t.EntityId,
                ["entity_type"] = "leads",
                ["task_type_id"] = specs[t.Id].TaskTypeId,
                ["request_id"] = RequestId(t),
            };
            if (t.ResponsibleUserId is { } user)
            {
                item["responsible_user_id"] = user;
            }

            return (JsonNode)item;
        })]);
        var result = await calls.TracedAsync(account, [.. open.Select((t, n) => (t.Id, RequestId(t), (string?)body[n]!.ToJsonString()))], LeadCallStep.Task, "POST", "api/v4/tasks",
            path => amo.PostAsync(account, path, body, () => store.RenewClaimAsync(token, open.Count, options.Value.Lease, CancellationToken.None), CancellationToken.None),
            [.. open.Where(t => t.Attempts >= LeadCallStore.BoundFromAttempts).Select(t => t.Id)]);
        if (result.Failure == AmoFailure.Withdrawn)
        {
            await store.SettleAsync(token, settled, CancellationToken.None);
            return BatchVerdict.Continue;
        }

        var verdict = BatchVerdict.Continue;
        if (result.Ok)
        {
            var ids = (result.Body?["_embedded"]?["tasks"] as JsonArray ?? []).OfType<JsonObject>()
                .Where(a => AmoJson.Text(a["request_id"]) is not null && AmoJson.Long(a["id"]) is not null)
                .GroupBy(a => AmoJson.Text(a["request_id"])!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => AmoJson.Long(g.First()["id"])!.Value, StringComparer.Ordinal);
            foreach (var task in open)
            {
                settled.Add(ids.TryGetValue(RequestId(task), out var id)
                    ? new TaskSettlement(task.Id, Outbox.TaskStatus.Delivered, id, null, null, true)
                    // Not named in the answer: it may exist, so it is looked for before it goes again.
                    : Later(task, result, outcomeKnown: false));
            }
        }
        else if (result.Failure == AmoFailure.BadRequest)
        {
            // The tasks amoCRM names are refused; whether it created the others of the batch is unverified, so those
            // are looked for before they go again.
            var refused = (result.Body?["validation-errors"] as JsonArray ?? []).OfType<JsonObject>()
                .Where(e => AmoJson.Text(e["request_id"]) is not null)
                .ToDictionary(e => AmoJson.Text(e["request_id"])!, e => e, StringComparer.Ordinal);
            foreach (var task in open)
            {
                settled.Add(refused.Count == 0 || refused.ContainsKey(RequestId(task))
                    ? new TaskSettlement(task.Id, Outbox.TaskStatus.Failed, null, Settlement.ErrorJson(result, result.Description, refused.GetValueOrDefault(RequestId(task))?.DeepClone()), null, true)
                    : Later(task, result, outcomeKnown: false, now: true));
            }

            LogRefused(account, refused.Count == 0 ? open.Count : refused.Count, result.Description);
        }
        else
        {
            settled.AddRange(open.Select(t => Later(t, result, outcomeKnown: !result.AnswerLost)));
            verdict = BatchVerdict.Stop;
        }

        await store.SettleAsync(token, settled, CancellationToken.None);
        return verdict;
    }

    private static string RequestId(ClaimedTask task) => task.Id.ToString(CultureInfo.InvariantCulture);

    // Back to the queue after a backoff (at once when the task did nothing wrong), or failed once its attempts are spent.
    private TaskSettlement Later(ClaimedTask task, AmoResult result, bool outcomeKnown, bool now = false)
    {
        var schedule = RetrySchedule.From(options.Value);
        return task.Attempts >= schedule.MaxAttempts
            ? new TaskSettlement(task.Id, Outbox.TaskStatus.Failed, null, Settlement.ErrorJson(result, "gave up after " + task.Attempts.ToString(CultureInfo.InvariantCulture) + " attempts: " + result.Description), null, outcomeKnown)
            : new TaskSettlement(task.Id, Outbox.TaskStatus.Pending, null, null, time.GetUtcNow() + (now ? TimeSpan.Zero : schedule.Backoff(task.Attempts)), outcomeKnown);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "amoCRM refused {Count} follow-up tasks of {Account}: {Description}; their leads stay delivered")]
    private partial void LogRefused(string account, int count, string description);
}
