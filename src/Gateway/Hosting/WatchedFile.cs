namespace Gateway.Hosting;

// What a watched settings file means to its owner, and what its owner says when it changes.
internal interface IWatchedFileReader<T>
{
    // Throws what IsBadFile recognises for a file that cannot be used.
    T Parse(string text);

    bool IsBadFile(Exception exception);

    void Loaded(T value);

    void Removed();

    void ReloadFailed(string problem, T kept);
}

// A settings file (API_KEYS_FILE, ACCOUNTS_FILE) read at start-up and re-read when it changes: adding a key or an
// account needs no restart. A bad file at start-up is the setting's one start-up line; a bad rewrite keeps what was
// in use and is not read again until it changes once more (or until RetryToken says the reasons may have changed).
internal sealed class WatchedFile<T>
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly string path;
    private readonly IWatchedFileReader<T> reader;
    private readonly T empty;
    private readonly Func<int> retryToken;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    private volatile Box current;
    private FileStamp loaded;
    private FileStamp rejected;
    private int rejectedAt;
    private long nextCheck;

    public WatchedFile(string setting, string path, bool required, T empty, IWatchedFileReader<T> reader, TimeProvider time, Func<int>? retryToken = null)
    {
        this.path = path;
        this.empty = empty;
        this.reader = reader;
        this.time = time;
        this.retryToken = retryToken ?? (() => 0);
        loaded = FileStamp.Of(path);
        if (!loaded.Exists && required)
        {
            throw new InvalidSettingException(setting, $"names {path}, which does not exist");
        }

        try
        {
            current = new Box(loaded.Exists ? reader.Parse(File.ReadAllText(path)) : empty);
        }
        catch (Exception ex) when (reader.IsBadFile(ex) || ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidSettingException(setting, $"{path}: {ex.Message}");
        }

        if (loaded.Exists)
        {
            reader.Loaded(current.Value);
        }

        nextCheck = NextCheckAfter(time.GetTimestamp());
    }

    public string Path => path;

    public T Current
    {
        get
        {
            ReloadIfChanged();
            return current.Value;
        }
    }

    private long NextCheckAfter(long now) => now + (long)(CheckInterval.TotalSeconds * time.TimestampFrequency);

    // At most one stat() per second, on the caller's path: no watcher thread to die silently. A caller that comes
    // while another is checking waits for that check instead of going on with what may be the old value: a key or an
    // account written before the request must be seen by it (only callers of that one moment wait, for one stat()).
    private void ReloadIfChanged()
    {
        var now = time.GetTimestamp();
        if (now < Volatile.Read(ref nextCheck))
        {
            return;
        }

        gate.Enter();
        try
        {
            if (now < nextCheck)
            {
                return;
            }

            nextCheck = NextCheckAfter(now);
            var stamp = FileStamp.Of(path);
            if (stamp == loaded || (stamp == rejected && rejectedAt == retryToken()))
            {
                return;
            }

            if (!stamp.Exists)
            {
                current = new Box(empty);
                loaded = stamp;
                reader.Removed();
                return;
            }

            try
            {
                rejectedAt = retryToken();
                current = new Box(reader.Parse(File.ReadAllText(path)));
                loaded = stamp;
                reader.Loaded(current.Value);
            }
            catch (Exception ex) when (reader.IsBadFile(ex) || ex is IOException or UnauthorizedAccessException)
            {
                rejected = stamp;
                reader.ReloadFailed(ex.Message, current.Value);
            }
        }
        finally
        {
            gate.Exit();
        }
    }

    // One reference for the value, whatever T is, so readers never see a torn one.
    private sealed record Box(T Value);
}

// What the file looked like when last read: a rewrite changes the time or the length.
internal readonly record struct FileStamp(bool Exists, DateTime WrittenAt, long Length)
{
    public static FileStamp Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(true, info.LastWriteTimeUtc, info.Length) : default;
    }
}
