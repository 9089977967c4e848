using System.Threading.Channels;

namespace Gateway.Outbox;

// A doorbell, not a queue: the database holds the work; this only wakes the dispatcher early.
internal sealed class OutboxSignal
{
    private readonly Channel<bool> bell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Ring() => bell.Writer.TryWrite(true);

    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, time, timer.Token);
        var rung = bell.Reader.WaitToReadAsync(timer.Token).AsTask();
        await Task.WhenAny(delay, rung);
        await timer.CancelAsync();
        bell.Reader.TryRead(out _);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
