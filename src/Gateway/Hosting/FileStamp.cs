namespace Gateway.Hosting;

// What a watched settings file (API_KEYS_FILE, ACCOUNTS_FILE) looked like when last read: a rewrite changes the
// time or the length, so it is read again; a file that was refused is not re-read until it changes.
internal readonly record struct FileStamp(bool Exists, DateTime WrittenAt, long Length)
{
    public static FileStamp Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(true, info.LastWriteTimeUtc, info.Length) : default;
    }
}
