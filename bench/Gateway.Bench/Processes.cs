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

    public static async Task<ServerProcess> StartAsync(string dll, string healthPath, IDictionary<string, string?> environment, string workingDirectory)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{dll}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient { BaseAddress = server.Url };
        var watch = Stopwatch.StartNew();
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

            if (watch.Elapsed > TimeSpan.FromSeconds(60) || process.HasExited)
            {
                throw new InvalidOperationException($"{dll} did not start");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
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
