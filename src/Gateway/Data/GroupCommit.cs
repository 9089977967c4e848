using System.Threading.Channels;

namespace Gateway.Data;

// Group commit: concurrent writers hand their item to one background writer, which stores whatever has queued up (at
// most MaxGroup) in one go — one transaction, one fsync — and answers each with its own result. Under a burst the
// acknowledgements cost a fraction of one commit each; alone, an item waits for nothing but its own commit. What
// arrived before a stop is still written: an accepted body is not dropped on shutdown.
internal abstract class GroupCommit<TItem, TResult> : BackgroundService
{
    private const int MaxGroup = 500;

    private readonly Channel<Pending> pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    // One result per item, in the group's order.
    protected abstract Task<IReadOnlyList<TResult>> WriteGroupAsync(IReadOnlyList<TItem> items);

    protected abstract void GroupFailed(Exception exception, int count);

    // After every writer of the group has its answer (the outbox rings its dispatcher here).
    protected virtual void Committed(IReadOnlyList<TItem> items)
    {
    }

    protected Task<TResult> EnqueueAsync(TItem item)
    {
        var entry = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!pending.Writer.TryWrite(entry))
        {
            entry.Completion.SetException(new InvalidOperationException("The gateway is shutting down"));
        }

        return entry.Completion.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var group = new List<Pending>(MaxGroup);
        try
        {
            while (await pending.Reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync(group);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            pending.Writer.TryComplete();
            await DrainAsync(group);
        }
    }

    private async Task DrainAsync(List<Pending> group)
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
                var items = group.Select(p => p.Item).ToList();
                var results = await WriteGroupAsync(items);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Completion.TrySetResult(results[i]);
                }

                Committed(items);
            }
            catch (Exception ex)
            {
                GroupFailed(ex, group.Count);
                foreach (var item in group)
                {
                    item.Completion.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(TItem Item, TaskCompletionSource<TResult> Completion);
}
