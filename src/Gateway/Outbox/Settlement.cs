using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Amo;

namespace Gateway.Outbox;

internal enum BatchVerdict
{
    Continue,       // the account can take the next batch at once
    Stop,           // the account is paused, unauthorized or unwell: leave the rest for later
}

internal enum AccountHealth
{
    Unchanged,      // the items' own fault, or nothing was asked of amoCRM
    Success,
    Failure,
}

// How long an item waits after a failure that is its turn's: doubling, capped, with jitter so a backlog does not return in step.
internal sealed record RetrySchedule(int MaxAttempts, TimeSpan MaxAge, TimeSpan MaxBackoff, Func<double> Jitter)
{
    public static RetrySchedule From(OutboxOptions options) =>
        new(options.MaxAttempts, options.MaxAge, options.MaxBackoff, Random.Shared.NextDouble);

    public TimeSpan Backoff(long attempts)
    {
        var seconds = Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(attempts, 20)));
        return TimeSpan.FromSeconds(seconds * (0.8 + Jitter() * 0.4));
    }
}

// A lead as it went out: the note it carries is attached once amoCRM names the created lead.
internal sealed record SentLead(ClaimedLead Lead, string? NoteText);

// OutcomeKnown: amoCRM's answer told what this send did, so the lead's "sent, outcome unknown" mark goes. Left false
// wherever the item may exist in amoCRM (a lost answer, an unconfirmed 2xx) or was not sent at all this time.
// SentUnconfirmed: this send went out and may have created the item (a lost answer, an unconfirmed 2xx), so the lead is
// marked: a fresh claim goes out with no write before it (LeadDelivery), and its settlement is where the mark is stored.
internal sealed record FailedLead(long Id, string Error, bool OutcomeKnown = false, bool SentUnconfirmed = false);

internal sealed record LeadRequeue(IReadOnlyList<(long Id, DateTimeOffset NextAttemptAt)> Items, string? Error, bool CountAttempt, bool Solo, bool OutcomeKnown = false, bool SentUnconfirmed = false);

internal sealed record LeadWake(string SourceUid, LeadOutcome Outcome);

internal sealed record DeferredBatch(string What, int Count, AmoFailure Failure, string Description);

// What one answer does to a claimed batch of leads: ApplyAsync stores, counts, records and wakes exactly this.
internal sealed record LeadPlan
{
    public string ClaimToken { get; init; } = "";
    public IReadOnlyList<DeliveredLead> Delivered { get; init; } = [];
    public IReadOnlyList<FailedLead> Failed { get; init; } = [];
    public LeadRequeue? Requeue { get; init; }
    public AccountHealth Health { get; init; }
    public AmoResult? HealthResult { get; init; }
    public IReadOnlyList<LeadWake> Wake { get; init; } = [];

    // Leads sent whose answer was lost.
    public int LostAnswers { get; init; }
    public BatchVerdict Verdict { get; init; }
    public int Unmatched { get; init; }
    public int GaveUp { get; init; }
    public DeferredBatch? Deferred { get; init; }
}

// Notes carry no waiter and no metric; a claimed note is settled row by row with its own status.
internal sealed record NotePlan
{
    public string ClaimToken { get; init; } = "";
    public IReadOnlyList<NoteSettlement> Settlements { get; init; } = [];
    public bool Solo { get; init; }
    public AccountHealth Health { get; init; }
    public AmoResult? HealthResult { get; init; }
    public BatchVerdict Verdict { get; init; }

    // Notes sent whose answer was lost.
    public int LostAnswers { get; init; }
}

// The rules that turn amoCRM's answer into a plan, with no I/O: everything they need comes in as arguments.
internal static class Settlement
{
    internal const string Unconfirmed = "amoCRM accepted the request but its answer did not confirm this item; it may exist in amoCRM already. Check before retrying";

    public static LeadPlan Unreadable(IReadOnlyList<(ClaimedLead Lead, string Reason)> leads) => new()
    {
        ClaimToken = leads.Count > 0 ? leads[0].Lead.ClaimToken : "",
        Failed = leads.Select(u => new FailedLead(u.Lead.Id, ErrorJson(null, "stored payload no longer validates: " + u.Reason))).ToList(),
        Wake = leads.Select(u => new LeadWake(u.Lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed))).ToList(),
        Verdict = BatchVerdict.Continue,
    };

    public static LeadPlan Leads(IReadOnlyList<SentLead> sent, AmoResult result, DateTimeOffset now, RetrySchedule schedule)
    {
        if (result.Ok)
        {
            return LeadsAccepted(sent, result);
        }

        var leads = sent.Select(s => s.Lead).ToList();
        if (result.Failure != AmoFailure.BadRequest)
        {
            return LeadsDeferred(leads, result, now, schedule, sent: true);
        }

        var token = leads[0].ClaimToken;
        var rejected = RejectedRequestIds(result);
        var failed = leads.Where(l => rejected.Contains(l.SourceUid)).ToList();
        if (failed.Count > 0)
        {
            // amoCRM named the bad items: they fail with its words, the rest go again without them.
            return new LeadPlan
            {
                ClaimToken = token,
                Failed = failed.Select(l => new FailedLead(l.Id, ErrorJson(result, result.Description, ItemErrors(result, l.SourceUid)), OutcomeKnown: true)).ToList(),
                Requeue = new LeadRequeue(leads.Except(failed).Select(l => (l.Id, now)).ToList(), null, CountAttempt: false, Solo: false, OutcomeKnown: true),
                Wake = failed.Select(l => new LeadWake(l.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed, result with { Body = ItemBody(result, l.SourceUid) }))).ToList(),
                Verdict = BatchVerdict.Continue,
            };
        }

        if (leads.Count == 1)
        {
            return new LeadPlan
            {
                ClaimToken = token,
                // Whatever amoCRM said is about this one item, however it keyed it: passed on whole.
                Failed = [new FailedLead(leads[0].Id, ErrorJson(result, result.Description, result.Body?["validation-errors"] is JsonArray { Count: > 0 } all ? all.DeepClone() : null), OutcomeKnown: true)],
                Wake = [new LeadWake(leads[0].SourceUid, new LeadOutcome(LeadOutcomeKind.Failed, result))],
                Verdict = BatchVerdict.Continue,
            };
        }

        // A 400 that names no item: send each alone to find the culprit.
        return new LeadPlan
        {
            ClaimToken = token,
            Requeue = new LeadRequeue(leads.Select(l => (l.Id, now)).ToList(), null, CountAttempt: false, Solo: true, OutcomeKnown: true),
            Verdict = BatchVerdict.Continue,
        };
    }

    private static LeadPlan LeadsAccepted(IReadOnlyList<SentLead> sent, AmoResult result)
    {
        var unmatched = sent.ToDictionary(s => s.Lead.SourceUid);
        var delivered = new List<DeliveredLead>();
        foreach (var answer in (result.Body?["_embedded"]?["unsorted"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (AmoJson.Text(answer["request_id"]) is { } requestId && unmatched.Remove(requestId, out var match))
            {
                delivered.Add(new DeliveredLead(
                    match.Lead.Id,
                    match.Lead.SourceUid,
                    AmoJson.Text(answer["uid"]) ?? "",
                    AmoJson.Long(answer["_embedded"]?["leads"]?[0]?["id"]),
                    AmoJson.Long(answer["_embedded"]?["contacts"]?[0]?["id"]),
                    answer.ToJsonString(),
                    match.NoteText));
            }
        }

        // amoCRM said yes without naming these: they may exist, so a blind resend could duplicate them. A person decides.
        return new LeadPlan
        {
            ClaimToken = sent[0].Lead.ClaimToken,
            Delivered = delivered,
            Failed = unmatched.Values.Select(s => new FailedLead(s.Lead.Id, ErrorJson(result, Unconfirmed), SentUnconfirmed: true)).ToList(),
            Health = AccountHealth.Success,
            Wake = delivered.Select(d => new LeadWake(d.SourceUid, new LeadOutcome(LeadOutcomeKind.Delivered)))
                .Concat(unmatched.Values.Select(s => new LeadWake(s.Lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed))))
                .ToList(),
            Verdict = BatchVerdict.Continue,
            Unmatched = unmatched.Count,
        };
    }

    // Leads whose answer was lost and that the look found in amoCRM's unsorted list: delivered with what amoCRM holds
    // (uid, lead and contact ids), so their notes go as usual and their callers are answered.
    public static LeadPlan LeadsFound(IReadOnlyList<(SentLead Lead, JsonObject Item)> found) => new()
    {
        ClaimToken = found.Count > 0 ? found[0].Lead.Lead.ClaimToken : "",
        Delivered = found.Select(f => new DeliveredLead(
            f.Lead.Lead.Id,
            f.Lead.Lead.SourceUid,
            AmoJson.Text(f.Item["uid"]) ?? "",
            AmoJson.Long(f.Item["_embedded"]?["leads"]?[0]?["id"]),
            AmoJson.Long(f.Item["_embedded"]?["contacts"]?[0]?["id"]),
            f.Item.ToJsonString(),
            f.Lead.NoteText)).ToList(),
        Health = AccountHealth.Success,
        Wake = found.Select(f => new LeadWake(f.Lead.Lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Delivered))).ToList(),
        Verdict = BatchVerdict.Continue,
    };

    // Failures of the account or of amoCRM, not of the items: back to the queue, with backoff where it is the items' turn that was spent.
    // sent: the result is the answer to sending these leads (not to a lookup before it). A lost answer keeps their mark,
    // so the next claim looks for them first; their callers are told "queued", as for any failure of amoCRM.
    public static LeadPlan LeadsDeferred(IReadOnlyList<ClaimedLead> leads, AmoResult result, DateTimeOffset now, RetrySchedule schedule, bool sent = false)
    {
        var counts = AccountDeliveryState.VerdictFor(result).CountsAgainstItems;
        var lost = sent && result.AnswerLost;
        var known = sent && !result.AnswerLost;
        var giveUp = new List<FailedLead>();
        var again = new List<(long, DateTimeOffset)>();
        var wake = new List<LeadWake>();
        foreach (var lead in leads)
        {
            // Age counts from the last time someone queued it, so a retried dead letter gets a fresh chance.
            var tooOld = now - lead.QueuedAt > schedule.MaxAge;
            if (counts && (lead.Attempts >= schedule.MaxAttempts || tooOld))
            {
                giveUp.Add(new FailedLead(lead.Id, ErrorJson(result, $"gave up after {lead.Attempts} attempts: {result.Description}"), known, SentUnconfirmed: lost));
                wake.Add(new LeadWake(lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Failed, result)));
            }
            else
            {
                again.Add((lead.Id, counts ? now + schedule.Backoff(lead.Attempts) : now));
                wake.Add(new LeadWake(lead.SourceUid, new LeadOutcome(LeadOutcomeKind.Queued, result)));
            }
        }

        return new LeadPlan
        {
            ClaimToken = leads[0].ClaimToken,
            Failed = giveUp,
            Requeue = new LeadRequeue(again, ErrorJson(result, result.Description), counts, Solo: false, OutcomeKnown: known, SentUnconfirmed: lost),
            Health = AccountHealth.Failure,
            HealthResult = result,
            Wake = wake,
            LostAnswers = lost ? leads.Count : 0,
            Verdict = BatchVerdict.Stop,
            GaveUp = giveUp.Count,
            Deferred = new DeferredBatch("leads", leads.Count, result.Failure, result.Description),
        };
    }

    public static NotePlan Notes(IReadOnlyList<ClaimedNote> notes, AmoResult result, DateTimeOffset now, RetrySchedule schedule)
    {
        var token = notes[0].NoteClaimToken;
        if (result.Ok)
        {
            var byRequest = notes.ToDictionary(RequestId);
            var settled = new List<NoteSettlement>();
            foreach (var answer in (result.Body?["_embedded"]?["notes"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (AmoJson.Text(answer["request_id"]) is { } requestId && byRequest.Remove(requestId, out var note))
                {
                    settled.Add(new NoteSettlement(note.Id, NoteStatus.Delivered, AmoJson.Long(answer["id"]), null, null));
                }
            }

            settled.AddRange(byRequest.Values.Select(n => new NoteSettlement(n.Id, NoteStatus.Failed, null, Unconfirmed, null)));
            return new NotePlan { ClaimToken = token, Settlements = settled, Health = AccountHealth.Success, Verdict = BatchVerdict.Continue };
        }

        if (result.Failure == AmoFailure.BadRequest)
        {
            // The note's own fault: never a reason to pause the account's leads. amoCRM refused the whole request.
            var rejected = RejectedRequestIds(result);
            var named = notes.Where(n => rejected.Contains(RequestId(n))).ToList();
            var error = ErrorJson(result, result.Description);
            if (named.Count > 0)
            {
                return new NotePlan
                {
                    ClaimToken = token,
                    Settlements = notes.Select(n => named.Contains(n)
                        ? new NoteSettlement(n.Id, NoteStatus.Failed, null, error, null, OutcomeKnown: true)
                        : new NoteSettlement(n.Id, NoteStatus.Pending, null, null, now, OutcomeKnown: true)).ToList(),
                    Verdict = BatchVerdict.Continue,
                };
            }

            if (notes.Count == 1)
            {
                return new NotePlan { ClaimToken = token, Settlements = [new NoteSettlement(notes[0].Id, NoteStatus.Failed, null, error, null, OutcomeKnown: true)], Verdict = BatchVerdict.Continue };
            }

            // A 400 that names no note: send each alone to find the culprit.
            return new NotePlan
            {
                ClaimToken = token,
                Settlements = notes.Select(n => new NoteSettlement(n.Id, NoteStatus.Pending, null, null, now, OutcomeKnown: true)).ToList(),
                Solo = true,
                Verdict = BatchVerdict.Continue,
            };
        }

        return NotesDeferred(notes, result, now, schedule, sent: true);
    }

    // Notes whose answer was lost and that the look found on their lead: delivered with the note's id.
    public static NotePlan NotesFound(IReadOnlyList<(ClaimedNote Note, long NoteId)> found) => new()
    {
        ClaimToken = found.Count > 0 ? found[0].Note.NoteClaimToken : "",
        Settlements = found.Select(f => new NoteSettlement(f.Note.Id, NoteStatus.Delivered, f.NoteId, null, null)).ToList(),
        Health = AccountHealth.Success,
        Verdict = BatchVerdict.Continue,
    };

    // amoCRM unwell, or the look before a resend failed (sent: false): back to the queue, the mark kept unless the answer to
    // this very send said nothing was written.
    public static NotePlan NotesDeferred(IReadOnlyList<ClaimedNote> notes, AmoResult result, DateTimeOffset now, RetrySchedule schedule, bool sent = false)
    {
        var counts = AccountDeliveryState.VerdictFor(result).CountsAgainstItems;
        var known = sent && !result.AnswerLost;
        return new NotePlan
        {
            ClaimToken = notes[0].NoteClaimToken,
            Settlements = notes.Select(n => counts && n.NoteAttempts >= schedule.MaxAttempts
                ? new NoteSettlement(n.Id, NoteStatus.Failed, null, $"gave up after {n.NoteAttempts} attempts: {result.Description}", null, known)
                : new NoteSettlement(n.Id, NoteStatus.Pending, null, result.Description, counts ? now + schedule.Backoff(n.NoteAttempts) : now, known)).ToList(),
            Health = AccountHealth.Failure,
            HealthResult = result,
            Verdict = BatchVerdict.Stop,
            LostAnswers = sent && result.AnswerLost ? notes.Count : 0,
        };
    }

    public static string RequestId(ClaimedNote note) => note.Id.ToString(CultureInfo.InvariantCulture);

    private static HashSet<string> RejectedRequestIds(AmoResult result) =>
        (result.Body?["validation-errors"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(e => AmoJson.Text(e["request_id"]))
            .Where(id => id is not null)
            .ToHashSet(StringComparer.Ordinal)!;

    private static JsonNode? ItemErrors(AmoResult result, string requestId) =>
        (result.Body?["validation-errors"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .FirstOrDefault(e => AmoJson.Text(e["request_id"]) == requestId)?.DeepClone();

    private static JsonObject? ItemBody(AmoResult result, string requestId)
    {
        if (result.Body is not JsonObject body)
        {
            return null;
        }

        var copy = body.DeepClone().AsObject();
        copy["validation-errors"] = ItemErrors(result, requestId) is { } item ? new JsonArray(item) : new JsonArray();
        return copy;
    }

    internal static string ErrorJson(AmoResult? result, string description, JsonNode? validation = null)
    {
        var error = new JsonObject
        {
            ["description"] = description,
            ["code"] = result?.Failure.ToString(),
            ["http_code"] = result?.HttpStatus,
        };
        if (validation is not null)
        {
            error["validation_errors"] = validation as JsonArray ?? new JsonArray(validation);
        }

        return error.ToJsonString(Hosting.Envelope.Json);
    }
}
