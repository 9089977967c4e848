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

        // An empty file is a valid empty SQLite database. OpenOrCreate, not an exists-check and CreateNew: instances sharing
        // the file start together, and the one that loses the race to create it must simply open it.
        using (new FileStream(databasePath, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = OwnerReadWrite }))
        {
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
