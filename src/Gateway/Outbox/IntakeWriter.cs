using Gateway.Security;

namespace Gateway.Outbox;

// Group commit: concurrent intakes share one transaction (one fsync), so acknowledging is cheap under load.
internal sealed partial class IntakeWriter(LeadStore store, PersonalData personalData, OutboxSignal signal, Amo.Pacing.DeliveryDemand demand, ILogger<IntakeWriter> logger)
    : Data.GroupCommit<NewLead, InsertedLead>
{
    // Sealed here, on the caller's thread: the group commit's one writer only writes.
    public Task<InsertedLead> WriteAsync(NewLead lead) =>
        EnqueueAsync(lead with { Payload = personalData.Seal(lead.Payload), CallerIp = personalData.SealOrNull(lead.CallerIp) });

    protected override async Task<IReadOnlyList<InsertedLead>> WriteGroupAsync(IReadOnlyList<NewLead> leads)
    {
        var inserted = await store.InsertAsync(leads, CancellationToken.None);

        // Lookups hold back from now, before the dispatcher has even woken for these leads.
        foreach (var account in leads.Select(l => l.Account).Distinct(StringComparer.Ordinal))
        {
            demand.Queued(account);
        }

        return inserted;
    }

    protected override void Committed(IReadOnlyList<NewLead> items) => signal.Ring();

    protected override void GroupFailed(Exception exception, int count) => LogWriteFailed(exception, count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not store {Count} incoming leads")]
    private partial void LogWriteFailed(Exception exception, int count);
}
