using System.Text.Json.Nodes;

namespace Emulator;

// An amoCRM account: its host is "{Subdomain}.amocrm.ru".
public sealed record EmulatorAccount(long Id, string Subdomain)
{
    public string Host => Subdomain + ".amocrm.ru";
}

public sealed record TokenPair(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt);

// Status 0 means the emulator aborted the connection (or the client gave up) and no answer was sent.
// AccountId: whose rate budget the request spent (its bearer token's account; the main account for token calls
// and unknown tokens).
public sealed record RecordedRequest(
    string Method, string Path, string Query, string Body, string? Bearer, int Status, DateTimeOffset ReceivedAt, long AccountId = 0);

// CreatedAt: the item's own created_at when it sent one (amoCRM keeps it), else when it was created; Unix seconds.
// Status: "pending" while the item waits in the unsorted list, "accepted" or "declined" once a manager decided.
public sealed record UnsortedRecord(
    string Uid, string SourceUid, string? RequestId, long LeadId, long? ContactId, JsonObject Item, long AccountId, long CreatedAt, string Status = UnsortedStatus.Pending);

public static class UnsortedStatus
{
    public const string Pending = "pending";
    public const string Accepted = "accepted";
    public const string Declined = "declined";
}

public sealed record NoteRecord(long Id, long EntityId, string NoteType, string? Text, string? RequestId, long CreatedAt = 0);

public sealed record LeadRecord(long Id, string? Name, long? Price, long? PipelineId, JsonObject Lead, long AccountId);
