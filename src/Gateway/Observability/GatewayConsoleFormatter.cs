using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Gateway.Observability;

// Every console line passes here; the built-in simple (text) or JSON formatter still lays it out.
// Text: the message, the exception and every scope are escaped first (LogText), because the simple formatter writes
// them as they are and a CR or an ESC in a request path would forge a line or recolour a terminal. JSON escapes inside
// its strings already.
// A failed start: once the host reports it, the console goes quiet, so StartupFailure's one line is what an operator
// reads; the host's report (a stack trace) and the noise of stopping what had started are shown at LOG_LEVEL=debug.
internal sealed class GatewayConsoleFormatter(string name, ConsoleFormatter layout, bool escape, Func<bool> detailed) : ConsoleFormatter(name)
{
    public const string Text = "gateway-text";
    public const string Json = "gateway-json";

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";
    private const int HostedServiceStartupFaulted = 11;

    private volatile bool startFailed;
    private EscapedScopes? scopes;

    // The host's own formatters, plus ours around the two the gateway uses.
    public static IEnumerable<ConsoleFormatter> Around(IEnumerable<ConsoleFormatter> formatters, IOptions<ObservabilityOptions> options)
    {
        var builtIn = formatters.ToList();
        bool Detailed() => options.Value.LogLevel <= LogLevel.Debug;
        var wrapped = new List<ConsoleFormatter>(builtIn);
        if (builtIn.Find(f => f.Name == ConsoleFormatterNames.Simple) is { } simple)
        {
            wrapped.Add(new GatewayConsoleFormatter(Text, simple, escape: true, Detailed));
        }

        if (builtIn.Find(f => f.Name == ConsoleFormatterNames.Json) is { } json)
        {
            wrapped.Add(new GatewayConsoleFormatter(Json, json, escape: false, Detailed));
        }

        return wrapped;
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        if (logEntry.EventId.Id == HostedServiceStartupFaulted && logEntry.Category == HostCategory)
        {
            startFailed = true;
        }

        if (startFailed && !detailed())
        {
            return;
        }

        if (!escape)
        {
            layout.Write(logEntry, scopeProvider, textWriter);
            return;
        }

        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        // The exception follows the message as the single-line layout writes it: its own line breaks become spaces.
        var text = LogText.Escape(message ?? "");
        if (logEntry.Exception is { } exception)
        {
            var detail = LogText.Escape(exception.ToString().Replace(Environment.NewLine, " ", StringComparison.Ordinal));
            text = text.Length == 0 ? detail : text + " " + detail;
        }

        var escapedScopes = scopeProvider is null ? null : scopes is { } cached && ReferenceEquals(cached.Inner, scopeProvider) ? cached : scopes = new EscapedScopes(scopeProvider);
        layout.Write(new LogEntry<string>(logEntry.LogLevel, logEntry.Category, logEntry.EventId, text, null, static (s, _) => s), escapedScopes, textWriter);
    }

    // Each scope as the text layout would print it (its ToString), escaped.
    private sealed class EscapedScopes(IExternalScopeProvider inner) : IExternalScopeProvider
    {
        public IExternalScopeProvider Inner => inner;

        // One closed instantiation of the inner ForEachScope: passing (callback, state) as a generic tuple would make
        // ForEachScope<T> call ForEachScope<(…, T)>, a generic cycle that breaks the Native AOT compiler.
        public void ForEachScope<TState>(Action<object?, TState> callback, TState state) =>
            inner.ForEachScope<Action<object?>>(
                static (scope, each) => each(scope is null ? null : LogText.Escape(Convert.ToString(scope, CultureInfo.InvariantCulture) ?? "")),
                scope => callback(scope, state));

        public IDisposable Push(object? state) => inner.Push(state);
    }
}
