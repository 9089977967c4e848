using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Bench;

// The gateway and the emulator as real processes on loopback, started from the bench's own output folder.
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;

    private ServerProcess(Process process, Uri url)
    {
        this.process = process;
        Url = url;
    }

    public Uri Url { get; }

    public int ProcessId => process.Id;

    // executable: a file to start instead of `dotnet DLL` (the gateway's Native AOT build).
    public static async Task<ServerProcess> StartAsync(string dll, string healthPath, IDictionary<string, string?> environment, string workingDirectory, string? executable = null)
    {
        var port = FreePort();
        string[] urls = ["--urls", $"http://127.0.0.1:{port}"];
        var info = new ProcessStartInfo(executable ?? "dotnet", executable is null ? [Path.Combine(AppContext.BaseDirectory, dll), .. urls] : urls)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        // Ready time counts from the moment the process is asked for, as a service manager would see it.
        var watch = Stopwatch.StartNew();
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{dll}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient { BaseAddress = server.Url };
        while (true)
        {
            try
            {
                if ((await http.GetAsync(healthPath)).IsSuccessStatusCode)
                {
                    server.ReadyAfter = watch.Elapsed;
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(60) || process.HasExited)
            {
                throw new InvalidOperationException($"{executable ?? dll} did not start");
            }

            // Fine-grained: the native build's budget is 100 ms, so a coarse poll would be most of the figure.
            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System);
        }
    }

    public TimeSpan ReadyAfter { get; private set; }

    public long ResidentBytes()
    {
        process.Refresh();
        return process.WorkingSet64;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
