using Gateway.Amo;
using Microsoft.Extensions.Options;

namespace Gateway.Accounts;

// Every account the gateway delivers to: the .env account first (the default: API_KEY and keys without an account),
// then each source's, the first of a domain winning. An account no source names any more is not delivered to; its
// stored leads stay where they are.
internal sealed class AccountRegistry(IOptions<AmoOptions> amo, IEnumerable<IAccountSource> sources)
{
    private readonly AmoAccount defaultAccount = AmoAccount.FromOptions(amo.Value);
    private readonly IAccountSource[] sources = [.. sources];
    private readonly Lock gate = new();
    private Snapshot snapshot = new([], []);

    private int version;

    public AmoAccount Default => defaultAccount;

    // Changes whenever the set of accounts does: a file that named an account not yet known may be read again.
    public int Version
    {
        get
        {
            Current();
            return Volatile.Read(ref version);
        }
    }

    public IReadOnlyList<AmoAccount> All => Current().Accounts;

    public AmoAccount? Find(string? key) =>
        key is null ? null : Current().ByKey.GetValueOrDefault(AmoOptionsSetup.NormalizeHost(key)!);

    // A domain some source holds, handed out already or not yet (see IAccountSource.Names); normalized, or null.
    public string? Known(string domain)
    {
        var key = AmoOptionsSetup.NormalizeHost(domain);
        return key is not null && (Find(key) is not null || sources.Any(s => s.Names(key))) ? key : null;
    }

    private Snapshot Current()
    {
        var lists = new IReadOnlyList<AmoAccount>[sources.Length];
        for (var i = 0; i < sources.Length; i++)
        {
            lists[i] = sources[i].Current;
        }

        var seen = Volatile.Read(ref snapshot);
        if (seen.Lists.Length == lists.Length && seen.Lists.Zip(lists).All(p => ReferenceEquals(p.First, p.Second)))
        {
            return seen;
        }

        lock (gate)
        {
            var accounts = new List<AmoAccount> { defaultAccount };
            var byKey = new Dictionary<string, AmoAccount>(StringComparer.Ordinal) { [defaultAccount.Key] = defaultAccount };
            foreach (var account in lists.SelectMany(l => l))
            {
                if (byKey.TryAdd(account.Key, account))
                {
                    accounts.Add(account);
                }
            }

            var next = new Snapshot(lists, byKey) { Accounts = accounts };
            Volatile.Write(ref snapshot, next);
            Interlocked.Increment(ref version);
            return next;
        }
    }

    private sealed record Snapshot(IReadOnlyList<AmoAccount>[] Lists, Dictionary<string, AmoAccount> ByKey)
    {
        public IReadOnlyList<AmoAccount> Accounts { get; init; } = [];
    }
}
