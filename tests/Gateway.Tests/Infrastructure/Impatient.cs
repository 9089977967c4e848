namespace Gateway.Tests.Infrastructure;

// A caller who hangs up: the request is abandoned after its patience runs out (real time, as a client's timeout is).
internal static class Impatient
{
    // True when the caller gave up before an answer came.
    public static async Task<bool> GiveUpAfterAsync(this HttpClient client, string path, TimeSpan patience)
    {
        using var timeout = new CancellationTokenSource(patience);
        try
        {
            using var response = await client.GetAsync(path, timeout.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }
}
