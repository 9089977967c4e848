using System.Globalization;
using Gateway.Observability;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

// LOG_ERRORS=true: the old gateway's error log file, kept under DATA_DIR/logs.
internal sealed class ErrorFileLoggerProvider(IOptions<GatewayOptions> options, TimeProvider time) : ILoggerProvider
{
    private readonly bool enabled = options.Value.LogErrors;
    private readonly string path = Path.Combine(options.Value.DataDirFullPath, "logs", "errors.log");
    private readonly Lock gate = new();

    public ILogger CreateLogger(string categoryName) => new ErrorFileLogger(this, categoryName);

    public void Dispose()
    {
    }

    // One line per entry, its values escaped like the console's; a logger never throws, so a DATA_DIR it cannot write
    // costs the file's lines, not the log call that the host (or a request) was making.
    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var text = LogText.Escape(exception is null ? message : message + " | " + exception.GetType().Name + ": " + exception.Message);
        var line = string.Create(CultureInfo.InvariantCulture, $"{time.GetUtcNow():O} [{level}] {category}: {text}{Environment.NewLine}");
        lock (gate)
        {
            try
            {
                Gateway.Data.DataDirectory.Ensure(Path.GetDirectoryName(path)!);
                // Owner-only like everything else under DATA_DIR (the mode applies when the file is created).
                using var file = new FileStream(path, OperatingSystem.IsWindows()
                    ? new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite }
                    : new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
                file.Write(System.Text.Encoding.UTF8.GetBytes(line));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private sealed class ErrorFileLogger(ErrorFileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => provider.enabled && logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(category, logLevel, formatter(state, exception), exception);
            }
        }
    }
}
