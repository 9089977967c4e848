namespace Gateway.Accounts;

// Where accounts beyond the .env one come from: the accounts file today, the database (the console) later. A source
// re-reads itself when asked (as often as it sees fit) and keeps its last good list when a change cannot be used.
internal interface IAccountSource
{
    IReadOnlyList<AmoAccount> Current { get; }
}
