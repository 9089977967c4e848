using Gateway.Accounts;
using Gateway.Leads;
using Gateway.Security;

namespace Gateway.Sources;

internal sealed record SubmissionOutcome(long SubmissionId, string Status, long? LeadId, IReadOnlyDictionary<string, string> Problems)
{
    public string Problem => string.Join("; ", Problems.Select(p => $"{p.Key}: {p.Value}"));
}

// Stored first, always: the raw body is committed before it is read as fields. What cannot become a valid lead stays as
// a rejected submission for an admin to see and replay once the profile is fixed; it is never dropped.
internal sealed partial class SubmissionIntake(
    SubmissionStore store, SourceProfiles profiles, LeadPreparation preparation, LeadIntake leads, ApiKeyRing keys, Events.IGatewayEvents events, TimeProvider time, ILogger<SubmissionIntake> logger)
{
    public async Task<SubmissionOutcome> ReceiveAsync(AmoAccount account, string tool, ApiKeyEntry? key, string? contentType, byte[] body, string? formHint)
    {
        var id = await store.AddAsync(account.Key, tool, key?.Name, formHint, contentType, body, SubmissionStatus.Received, null);
        return await ProcessAsync(id, account, tool, key, key?.Name, contentType, body, formHint, replay: false);
    }

    public async Task<SubmissionOutcome> ReplayAsync(AmoAccount account, SubmissionRow row)
    {
        if (store.OpenBody(row) is not { } body)
        {
            return new SubmissionOutcome(row.Id, row.Status, null, new Dictionary<string, string> { ["body"] = "the stored body cannot be decrypted with this key ring" });
        }

        // The key's defaults as the key is now; a key since removed adds none.
        var key = row.KeyName is null ? null : row.KeyName == ApiKeyEntry.DefaultName ? null : keys.Keys.FirstOrDefault(k => k.Name == row.KeyName);
        return await ProcessAsync(row.Id, account, row.Tool, key, row.KeyName, row.ContentType, body, row.Form, replay: true);
    }

    // After the row is committed nothing here may be lost to a cancelled request: the rest runs to the end.
    private async Task<SubmissionOutcome> ProcessAsync(long id, AmoAccount account, string tool, ApiKeyEntry? key, string? keyName, string? contentType, byte[] body, string? formHint, bool replay)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        string? form = null;
        if (FormFields.Parse(body, contentType, out var unreadable) is not { } fields)
        {
            problems["body"] = unreadable!;
        }
        else
        {
            var mapped = FormMapper.Map(tool, fields, profiles.Current, formHint);
            form = mapped.Form;
            if (mapped.Profile?.Account is { } wanted && wanted != account.Key)
            {
                problems["profile"] = $"the profile for this form is for account {wanted}, but the key delivers to {account.Key}";
            }
            else if (preparation.Prepare(mapped.Body, key, account, problems, SourceTool.Title(tool)) is not null)
            {
                // A field amoCRM would refuse is not a reason to refuse the visitor: delivery writes it into the note.
                // Without a tranid the submission's own id is the key: a replay of one whose outcome was never recorded
                // (the process stopped in between) finds its lead instead of making a second.
                var stored = await leads.StoreAsync(account.Key, mapped.Body, null, keyName, mapped.IdempotencyKey ?? SubmissionKey(id));

                // The lead is durable: recording the outcome rides the next group commit, the tool is not kept waiting for it
                // (an admin's replay is: its answer says what the list now shows).
                var recording = RecordAsync(id, stored.Id, form);
                if (replay)
                {
                    await recording;
                }
                LogAccepted(id, tool, stored.Id, stored.Existing);
                return new SubmissionOutcome(id, SubmissionStatus.Accepted, stored.Id, problems);
            }
        }

        var outcome = new SubmissionOutcome(id, SubmissionStatus.Rejected, null, problems);
        // The event before the verdict: a stop in between leaves the submission "received" (a replay sends the same
        // event id again, so once); the other order would leave it rejected with its lead.rejected never stored.
        await PublishRejectedAsync(account, id, tool, keyName, form, problems);
        await store.SetOutcomeAsync(id, SubmissionStatus.Rejected, outcome.Problem, null, form);
        LogRejected(id, tool, string.Join(", ", problems.Keys));
        return outcome;
    }

    // lead.rejected, to the key's callback and the subscriptions: once per submission (a replay rejected again is the
    // same event), with the fields that failed and why — never the values.
    private async Task PublishRejectedAsync(AmoAccount account, long id, string tool, string? keyName, string? form, Dictionary<string, string> problems)
    {
        var data = new System.Text.Json.Nodes.JsonObject
        {
            ["submission_id"] = id,
            ["tool"] = tool,
            ["form"] = form,
            ["key"] = keyName,
            ["problems"] = new System.Text.Json.Nodes.JsonObject([.. problems.Select(p => KeyValuePair.Create(p.Key, (System.Text.Json.Nodes.JsonNode?)p.Value))]),
        };
        try
        {
            await events.PublishAsync(new Events.GatewayEvent(Events.GatewayEvent.IdFor(account.Key, Events.EventTypes.LeadRejected, SubmissionKey(id)), account.Key, Events.EventTypes.LeadRejected, time.GetUtcNow(), data), CancellationToken.None);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            // The submission is kept as rejected whatever happens here; the admin list shows it.
            LogRejectedNotPublished(ex, id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission {SubmissionId} is rejected, but its lead.rejected event could not be stored")]
    private partial void LogRejectedNotPublished(Exception exception, long submissionId);

    private static string SubmissionKey(long id) => "submission:" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task RecordAsync(long id, long leadId, string? form)
    {
        try
        {
            await store.SetOutcomeAsync(id, SubmissionStatus.Accepted, null, leadId, form);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            LogOutcomeNotRecorded(ex, id, leadId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission {SubmissionId} became lead {LeadId}, but that could not be recorded: it stays \"received\" (a replay finds the same lead)")]
    private partial void LogOutcomeNotRecorded(Exception exception, long submissionId, long leadId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Submission {SubmissionId} from {Tool} stored as lead {LeadId} (already there: {Existing})")]
    private partial void LogAccepted(long submissionId, string tool, long leadId, bool existing);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission {SubmissionId} from {Tool} kept as rejected: it cannot be made into a lead ({Fields}); see GET /api/v1/admin/submissions?status=rejected")]
    private partial void LogRejected(long submissionId, string tool, string fields);
}
