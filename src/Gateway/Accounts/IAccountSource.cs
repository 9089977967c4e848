namespace Gateway.Accounts;

// Where accounts beyond the .env one come from: the accounts file today, the database (the console) later. A source
// re-reads itself when asked (as often as it sees fit) and keeps its last good list when a change cannot be used.
internal interface IAccountSource
{
    IReadOnlyList<AmoAccount> Current { get; }

    // Whether the source holds the domain even if it cannot hand the account out yet (the database's accounts before
    // the key ring can decrypt them at start-up): the keys file may name it.
    bool Names(string domain) => Current.Any(a => a.Domain == domain);
}
