using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Sources;

// SOURCES_FILE (default DATA_DIR/sources.json): the form profiles, re-read when the file changes.
internal sealed class SourcesOptions : FlatOptions
{
    public const string DefaultFileName = "sources.json";

    public string File { get; set; } = "";

    public bool FileRequired { get; set; }
}

internal sealed class SourcesOptionsSetup(IConfiguration configuration, IOptions<GatewayOptions> gateway) : IConfigureOptions<SourcesOptions>
{
    public void Configure(SourcesOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get("SOURCES_FILE") is { } file)
        {
            options.File = Path.GetFullPath(file);
            options.FileRequired = true;
        }
        else
        {
            options.File = Path.Combine(gateway.Value.DataDirFullPath, SourcesOptions.DefaultFileName);
        }
    }
}

internal sealed class SourcesOptionsValidator : FlatOptionsValidator<SourcesOptions>
{
    protected override void Check(SourcesOptions options, List<string> failures)
    {
    }
}

internal sealed partial class SourceProfiles : IWatchedFileReader<IReadOnlyList<SourceProfile>>
{
    private readonly ILogger<SourceProfiles> logger;
    private readonly string path;
    private readonly WatchedFile<IReadOnlyList<SourceProfile>> file;
    private readonly StoredSourceProfiles stored;

    public SourceProfiles(IOptions<SourcesOptions> options, StoredSourceProfiles stored, TimeProvider time, ILogger<SourceProfiles> logger)
    {
        this.logger = logger;
        this.stored = stored;
        path = options.Value.File;
        file = new WatchedFile<IReadOnlyList<SourceProfile>>("SOURCES_FILE", options.Value.File, options.Value.FileRequired, [], this, time);
    }

    public IReadOnlyList<SourceProfile> FileProfiles => file.Current;

    // The file's profiles and the console's (a form the file has a profile for keeps the file's); the one that names its
    // form still wins over the tool-wide one, wherever each comes from.
    public IReadOnlyList<SourceProfile> Current
    {
        get
        {
            var fromFile = file.Current;
            var fromDatabase = stored.Current;
            return fromDatabase.Count == 0
                ? fromFile
                : [.. fromFile.Concat(fromDatabase.Where(p => !fromFile.Any(f => f.Id == p.Id))).OrderBy(p => p.Form is null ? 1 : 0)];
        }
    }

    IReadOnlyList<SourceProfile> IWatchedFileReader<IReadOnlyList<SourceProfile>>.Parse(string text) => SourcesFile.Parse(text);

    bool IWatchedFileReader<IReadOnlyList<SourceProfile>>.IsBadFile(Exception exception) => exception is SourcesFileException;

    void IWatchedFileReader<IReadOnlyList<SourceProfile>>.Loaded(IReadOnlyList<SourceProfile> value) => LogLoaded(path, value.Count);

    void IWatchedFileReader<IReadOnlyList<SourceProfile>>.Removed() => LogRemoved(path);

    void IWatchedFileReader<IReadOnlyList<SourceProfile>>.ReloadFailed(string problem, IReadOnlyList<SourceProfile> kept) => LogReloadFailed(path, problem, kept.Count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sources file {Path} loaded: {Count} form profiles")]
    private partial void LogLoaded(string path, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sources file {Path} is gone: forms are mapped by the defaults only")]
    private partial void LogRemoved(string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sources file {Path} was changed but cannot be used ({Problem}); the previous {Count} profiles stay in use until it is fixed")]
    private partial void LogReloadFailed(string path, string problem, int count);
}
