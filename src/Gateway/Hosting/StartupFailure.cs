using System.Net.Sockets;
using Gateway.Observability;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

// A start-up step failed in a way the operator can fix: the message says what failed and how to fix it, with no secret.
internal sealed class StartupProblemException(string message, Exception? inner = null) : Exception(message, inner);

internal static class StartupFailure
{
    // A setting that cannot be used; null for every other failure.
    public static string? Describe(Exception exception) => exception switch
    {
        OptionsValidationException validation => string.Join("; ", validation.Failures),
        InvalidSettingException setting => setting.Message,
        AggregateException aggregate when aggregate.InnerExceptions.Select(Describe).FirstOrDefault(d => d is not null) is { } inner => inner,
        _ => null,
    };

    // The one line a failed start prints: the setting, the step that failed, or at least the exception's own words.
    public static string Line(Exception exception) =>
        Describe(exception) is { } setting ? "Configuration error: " + setting
        : Problem(exception) is { } problem ? "Cannot start: " + problem
        // At start-up the files are DATA_DIR's (the key ring, the database); the message names the one.
        : exception is IOException or UnauthorizedAccessException
            ? $"Cannot start: {exception.Message.TrimEnd('.')}; make DATA_DIR and everything in it owned and writable by the gateway's user ({Environment.UserName})"
        : $"Cannot start: {exception.GetType().Name}: {exception.Message} (LOG_LEVEL=debug logs the details)";

    // Kestrel's failures to listen on the addresses it was given, or null when the failure is not one.
    public static string? ListenProblem(Exception exception, string addresses)
    {
        const string Elsewhere = "with --urls or ASPNETCORE_URLS (e.g. http://0.0.0.0:9095)";
        var socket = exception as SocketException ?? (exception as IOException)?.InnerException as SocketException;
        return exception switch
        {
            IOException { InnerException: AddressInUseException } =>
                $"cannot listen on {addresses}: the port is in use by another program (another gateway still running?); stop it, or listen elsewhere {Elsewhere}",
            _ when socket?.SocketErrorCode == SocketError.AccessDenied =>
                $"cannot listen on {addresses}: not allowed (ports below 1024 need root or CAP_NET_BIND_SERVICE); listen on a port above 1023 {Elsewhere}",
            _ when socket?.SocketErrorCode == SocketError.AddressNotAvailable =>
                $"cannot listen on {addresses}: that IP address is not one of this machine's; listen on 0.0.0.0 or one of its own addresses {Elsewhere}",
            FormatException format when format.Message.StartsWith("Invalid url", StringComparison.OrdinalIgnoreCase) =>
                $"{format.Message.TrimEnd('.')} is not an address to listen on; give one {Elsewhere}",
            ArgumentOutOfRangeException { ParamName: "port" } =>
                $"cannot listen on {addresses}: a port is 1 to 65535; give one {Elsewhere}",
            _ => null,
        };
    }

    public static async Task<int> ExitCodeOfAsync(Func<Task<int>> main)
    {
        try
        {
            return await main();
        }
        // Only as its own process: a test host wants the exception itself, not an exit code.
        catch (Exception ex) when (System.Reflection.Assembly.GetEntryAssembly() == typeof(Program).Assembly)
        {
            // One line saying what failed and how to fix it: no stack trace, no secret, nothing that could forge a second line.
            await Console.Error.WriteLineAsync(LogText.Escape(Line(ex)));
            return 1;
        }
    }

    private static string? Problem(Exception exception) => exception switch
    {
        StartupProblemException problem => problem.Message,
        AggregateException aggregate => aggregate.InnerExceptions.Select(Problem).FirstOrDefault(p => p is not null),
        _ => null,
    };
}
