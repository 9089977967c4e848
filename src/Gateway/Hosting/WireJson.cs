using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gateway.Amo.Consent;
using Gateway.Leads;
using Gateway.Operations;
using Gateway.Security;

namespace Gateway.Hosting;

// Every type that goes out in an envelope, serialised by generated code: the native build has no reflection to fall back on.
// Envelope.Data and Details are object, so each concrete type they carry must be listed here, or the answer fails at run time.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Envelope))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonArray))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Liveness))]
[JsonSerializable(typeof(Readiness))]
[JsonSerializable(typeof(ConfigView))]
[JsonSerializable(typeof(LeadList))]
[JsonSerializable(typeof(LeadRequeued))]
[JsonSerializable(typeof(LeadsRequeued))]
[JsonSerializable(typeof(ConsentDenied))]
[JsonSerializable(typeof(ConsentExchangeFailed))]
[JsonSerializable(typeof(ConsentGranted))]
[JsonSerializable(typeof(ConsentStatus))]
[JsonSerializable(typeof(ConsentWrongAccount))]
[JsonSerializable(typeof(OriginRefused))]
[JsonSerializable(typeof(RetryAfterDetails))]
[JsonSerializable(typeof(ScopeMissing))]
[JsonSerializable(typeof(ApiKeyRefusalBody))]
[JsonSerializable(typeof(InvalidJson))]
[JsonSerializable(typeof(BodyTooLarge))]
[JsonSerializable(typeof(AdminSessionView))]
[JsonSerializable(typeof(SignInAgain))]
[JsonSerializable(typeof(CsrfMissing))]
[JsonSerializable(typeof(Sources.SubmissionAnswer))]
[JsonSerializable(typeof(Sources.SubmissionRejected))]
[JsonSerializable(typeof(Sources.SubmissionList))]
internal sealed partial class WireJson : JsonSerializerContext;
