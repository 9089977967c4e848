using Gateway.Data;

namespace Gateway.Tests.Data;

// Instances sharing one SQLite file are started together (systemd, compose, the cluster tests); the first open must not
// fail for whichever of them loses the race to create the file.
public sealed class SqliteFilePreparationTests
{
    [Fact]
    public void Instances_preparing_a_new_database_file_at_the_same_moment_all_succeed_and_leave_it_owner_only()
    {
        var root = Directory.CreateTempSubdirectory("sqlite-prepare-");
        try
        {
            for (var round = 0; round < 300; round++)
            {
                var path = Path.Combine(root.FullName, $"gateway-{round}.db");
                using var start = new Barrier(4);
                var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
                var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
                {
                    start.SignalAndWait();
                    try
                    {
                        OwnerOnlyFiles.PrepareSqlite(path);
                    }
                    catch (Exception e)
                    {
                        failures.Add(e);
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());

                Assert.True(failures.IsEmpty, $"round {round}: " + string.Join("; ", failures.Select(f => f.Message)));
                Assert.True(File.Exists(path));
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                }
            }
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
