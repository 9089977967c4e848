namespace Gateway.Security;

// SQLite creates -wal and -shm with the database file's mode, so the database file must exist owner-only before SQLite
// first opens it; files left by an older version are tightened too.
internal static class OwnerOnlyFiles
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void PrepareSqlite(string databasePath)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (!File.Exists(databasePath))
        {
            // An empty file is a valid empty SQLite database.
            using var created = new FileStream(databasePath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerReadWrite });
        }

        foreach (var path in new[] { databasePath, databasePath + "-wal", databasePath + "-shm", databasePath + "-journal" })
        {
            if (File.Exists(path))
            {
                File.SetUnixFileMode(path, OwnerReadWrite);
            }
        }
    }
}
