using Gateway.Accounts;
using Gateway.Amo;
using Gateway.Amo.Tokens;
using Gateway.Data;
using Gateway.Outbox;
using Microsoft.Extensions.Options;

namespace Gateway.Operations;

// AmoAccountId and BaseDomain: which amoCRM account the stored token is for (as consent's identity check found it).
internal sealed record AccountStatus(string Account, string TokenState, bool CanDeliver, QueueStats Queue, long? OldestQueuedAgeSeconds, long? AmoAccountId = null, string? BaseDomain = null);

// What readiness and /metrics read at request time: the database, and per account the token and the queue.
internal sealed class GatewayStatus(Database database, TokenStore tokens, LeadStore leads, TokenDiagnostics diagnostics, AccountRegistry registry, IOptions<AmoOptions> options, TimeProvider time)
{
    public TokenDiagnostics Diagnostics => diagnostics;

    public async Task<bool> DatabaseReachableAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await Sql.ScalarAsync(connection, "SELECT 1", null, [], cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false;
        }
    }

    // The configured accounts (the default first), then any other account the database holds a token for.
    public async Task<IReadOnlyList<AccountStatus>> AccountsAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stored = await tokens.ListAsync(cancellationToken);
        var configured = registry.All.Select(a => a.Key);
        var accounts = new List<AccountStatus>();
        foreach (var account in configured.Concat(stored.Select(t => t.Account)).Distinct(StringComparer.Ordinal))
        {
            var token = stored.FirstOrDefault(t => t.Account == account);
            var state = TokenStatus.StateOf(token, now, options.Value.RefreshMargin);
            var stats = await leads.StatsAsync(account, cancellationToken);
            accounts.Add(new AccountStatus(account, state, TokenStatus.CanDeliver(token, now), stats, stats.OldestQueuedAgeSeconds(now), token?.AmoAccountId, token?.BaseDomain));
        }

        return accounts;
    }
}
