using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Events;

// X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")> — the scheme the README shows
// how to verify. The timestamp inside the MAC lets a receiver refuse a replayed old request.
internal static class EventSignature
{
    public const string SignatureHeader = "X-Gateway-Signature";
    public const string EventHeader = "X-Gateway-Event";
    public const string EventIdHeader = "X-Gateway-Event-Id";
    public const string TimestampHeader = "X-Gateway-Timestamp";

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(mac)}";
    }
}
