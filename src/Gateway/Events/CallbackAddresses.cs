using System.Net;
using System.Net.Sockets;

namespace Gateway.Events;

internal sealed class RefusedAddressException(string message) : Exception(message);

// A callback URL is the caller's to choose, so it must not reach what only the gateway can: loopback, private networks,
// link-local (cloud metadata at 169.254.169.254) and the like. Checked on the addresses a connection actually uses,
// after DNS, on every new connection, so a name that resolves elsewhere later (DNS rebinding) is refused too.
internal static class CallbackAddresses
{
    public static SocketsHttpHandler Handler(bool allowPrivate) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        MaxResponseHeadersLength = 16,
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context, allowPrivate, cancellationToken),
    };

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var usable = allowPrivate ? addresses : addresses.Where(a => Refusal(a) is null).ToArray();
        if (usable.Length == 0)
        {
            var reason = addresses.Length == 0 ? "does not resolve" : $"resolves to {addresses[0]}, {Refusal(addresses[0])}";
            throw new RefusedAddressException($"callback host {host} {reason}: refused (ALLOW_PRIVATE_CALLBACKS=true allows it)");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(usable, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // Why an address may not be called back, or null when it may.
    public static string? Refusal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return "a loopback address";
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return (b[0], b[1]) switch
            {
                (0, _) => "a 'this network' address",
                (10, _) => "a private address",
                (100, >= 64 and <= 127) => "a carrier-grade NAT address",
                (169, 254) => "a link-local (cloud metadata) address",
                (172, >= 16 and <= 31) => "a private address",
                (192, 168) => "a private address",
                (192, 0) when b[2] == 0 => "a reserved address",
                (198, 18 or 19) => "a benchmarking address",
                ( >= 224, _) => "a multicast or reserved address",
                _ => null,
            };
        }

        if (address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any))
        {
            return "an unspecified address";
        }

        var bytes = address.GetAddressBytes();
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal ? "a link-local address"
            : (bytes[0] & 0xFE) == 0xFC ? "a private (unique local) address"
            : address.IsIPv6Multicast ? "a multicast address"
            : null;
    }
}
