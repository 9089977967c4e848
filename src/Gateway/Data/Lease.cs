namespace Gateway.Data;

// A named lock shared by every process on the database; it expires, so a killed holder cannot wedge it.
internal sealed class LeaseStore(Database database, TimeProvider time)
{
    private readonly string holderPrefix = $"{Environment.MachineName}:{Environment.ProcessId}:";

    public async Task<IAsyncDisposable> AcquireAsync(string name, TimeSpan lease, TimeSpan wait, CancellationToken cancellationToken)
    {
        var holder = holderPrefix + Guid.NewGuid().ToString("N");
        var deadline = time.GetUtcNow() + wait;
        while (true)
        {
            if (await TryAcquireAsync(name, holder, lease, cancellationToken))
            {
                return new Held(this, name, holder);
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw new TimeoutException($"Lease {name} is held by another process");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
        }
    }

    public async Task<bool> TryAcquireAsync(string name, string holder, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await Sql.ExecuteAsync(
            connection,
            """
            INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires)
            ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE leases.expires_at <= @now OR leases.holder = excluded.holder
            """,
            null,
            [("name", name), ("holder", holder), ("expires", now + lease), ("now", now)],
            cancellationToken);
        return rows == 1;
    }

    private async Task ReleaseAsync(string name, string holder)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await Sql.ExecuteAsync(connection, "DELETE FROM leases WHERE name = @name AND holder = @holder", null, [("name", name), ("holder", holder)], CancellationToken.None);
    }

    private sealed class Held(LeaseStore store, string name, string holder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await store.ReleaseAsync(name, holder);
    }
}
