using System.Net;
using System.Net.Sockets;

namespace Gateway.Security;

// What authentication learned about the caller, for the limiter, CORS and lead defaults further down the pipeline.
internal static class ApiKeyCaller
{
    private static readonly object KeyItem = new();
    private static readonly object RejectedItem = new();

    public static void Set(HttpContext context, ApiKeyEntry key) => context.Items[KeyItem] = key;

    public static ApiKeyEntry? Get(HttpContext context) => context.Items.TryGetValue(KeyItem, out var key) ? key as ApiKeyEntry : null;

    public static void MarkRejected(HttpContext context) => context.Items[RejectedItem] = true;

    public static bool WasRejected(HttpContext context) => context.Items.ContainsKey(RejectedItem);

    // The bucket a client address falls in: one per IPv4 address, one per IPv6 /64 (a single host usually owns a whole /64).
    public static string ClientBucket(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
