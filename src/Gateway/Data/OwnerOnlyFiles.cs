namespace Gateway.Data;

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

        // An empty file is a valid empty SQLite database. Instances sharing the file start together, so losing the race to
        // create it is fine. An existing file is never opened here: closing any descriptor of it would drop this process's
        // SQLite locks on it (POSIX record locks are per process), which matters when one process runs two gateways.
        if (!File.Exists(databasePath))
        {
            try
            {
                using var created = new FileStream(databasePath, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerReadWrite });
            }
            catch (IOException) when (File.Exists(databasePath))
            {
            }
        }

        foreach (var path in new[] { databasePath, databasePath + "-wal", databasePath + "-shm", databasePath + "-journal" })
        {
            try
            {
                File.SetUnixFileMode(path, OwnerReadWrite);
            }
            catch (FileNotFoundException)
            {
                // Absent, or removed by another instance's SQLite between its close and our look: nothing to tighten.
            }
        }
    }
}
