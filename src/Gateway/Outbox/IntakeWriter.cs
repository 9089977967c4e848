using System.Threading.Channels;
using Gateway.Security;

namespace Gateway.Outbox;

// Group commit: concurrent intakes share one transaction (one fsync), so acknowledging is cheap under load.
internal sealed partial class IntakeWriter(LeadStore store, PersonalData personalData, OutboxSignal signal, Amo.Pacing.DeliveryDemand demand, ILogger<IntakeWriter> logger) : BackgroundService
{
    private const int MaxGroup = 500;

    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    // Sealed here, on the caller's thread: the group commit's one writer only writes.
    public Task<InsertedLead> WriteAsync(NewLead lead)
    {
        lead = lead with { Payload = personalData.Seal(lead.Payload), CallerIp = personalData.SealOrNull(lead.CallerIp) };
        var item = new Pending(lead, new TaskCompletionSource<InsertedLead>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(item))
        {
            item.Completion.SetException(new InvalidOperationException("The gateway is shutting down"));
        }

        return item.Completion.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var group = new List<Pending>(MaxGroup);
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                await WriteGroupAsync(group);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Whatever arrived before the stop is still written: an accepted body is not dropped on shutdown.
            pending.Writer.TryComplete();
            await WriteGroupAsync(group);
        }
    }

    private async Task WriteGroupAsync(List<Pending> group)
    {
        while (true)
        {
            group.Clear();
            while (group.Count < MaxGroup && pending.Reader.TryRead(out var next))
            {
                group.Add(next);
            }

            if (group.Count == 0)
            {
                return;
            }

            try
            {
                var inserted = await store.InsertAsync(group.Select(p => p.Lead).ToList(), CancellationToken.None);

                // Lookups hold back from now, before the dispatcher has even woken for these leads.
                foreach (var account in group.Select(p => p.Lead.Account).Distinct(StringComparer.Ordinal))
                {
                    demand.Queued(account);
                }

                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Completion.TrySetResult(inserted[i]);
                }

                signal.Ring();
            }
            catch (Exception ex)
            {
                LogWriteFailed(ex, group.Count);
                foreach (var item in group)
                {
                    item.Completion.TrySetException(ex);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not store {Count} incoming leads")]
    private partial void LogWriteFailed(Exception exception, int count);

    private sealed record Pending(NewLead Lead, TaskCompletionSource<InsertedLead> Completion);
}
