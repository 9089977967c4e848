using System.Text.Json.Nodes;

namespace Emulator;

// An amoCRM account: its host is "{Subdomain}.amocrm.ru".
public sealed record EmulatorAccount(long Id, string Subdomain)
{
    public string Host => Subdomain + ".amocrm.ru";
}

public sealed record TokenPair(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt);

// Status 0 means the emulator aborted the connection (or the client gave up) and no answer was sent.
public sealed record RecordedRequest(
    string Method, string Path, string Query, string Body, string? Bearer, int Status, DateTimeOffset ReceivedAt);

public sealed record UnsortedRecord(
    string Uid, string SourceUid, string? RequestId, long LeadId, long? ContactId, JsonObject Item, long AccountId);

public sealed record NoteRecord(long Id, long EntityId, string NoteType, string? Text, string? RequestId);

public sealed record LeadRecord(long Id, string? Name, long? Price, long? PipelineId, JsonObject Lead, long AccountId);
