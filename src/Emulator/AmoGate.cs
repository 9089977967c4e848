using System.Text;

namespace Emulator;

// What sits in front of amoCRM's handlers: the request log, nginx (rate limit, outage, block pages),
// the scripted faults, and bearer authentication for /api/v4.
internal static class AmoGate
{
    private const string ControlPrefix = "/_emulator";

    public static IApplicationBuilder UseAmoGate(this IApplicationBuilder app) => app.Use(InvokeAsync);

    // Aborts without an answer; the log records status 0 before the client can see the reset.
    public static void Abort(HttpContext context)
    {
        RequestEntry.Of(context)?.Complete(0);
        context.Abort();
    }

    private static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith(ControlPrefix, StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        // amoCRM names each answer (nginx's request id): the gateway logs it so a support ticket can quote it.
        context.Response.Headers["X-Request-Id"] = Guid.NewGuid().ToString("N");
        var state = context.RequestServices.GetRequiredService<EmulatorState>();
        var entry = await RequestEntry.StartAsync(context, state, path);
        try
        {
            var answer = Screen(state, path, entry.ArrivedAt, entry.AccountId);
            if (answer is null)
            {
                if (EmulatorState.IsApiOrToken(path) && state.DelayFor(entry.AccountId) is { Ticks: > 0 } delay)
                {
                    // A slow amoCRM is slow in real time, like the arrival stamps above.
                    await Task.Delay(delay, TimeProvider.System, context.RequestAborted);
                }

                answer = ScreenAfterDelay(context, state, path, entry.AccountId);
            }

            if (answer is not null)
            {
                await answer.ExecuteAsync(context);
            }
            else if (!entry.IsComplete)
            {
                await next(context);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            entry.Complete(0);
        }
        catch (Exception) when (!context.Response.HasStarted)
        {
            entry.Complete(500);
            throw;
        }
        finally
        {
            // Answers that were never started (aborted, or the client gave up) are logged here.
            entry.Complete(context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 0 : context.Response.StatusCode);
        }
    }

    // nginx's part, before any delay: the limiter, an outage, a blocked account.
    // amoCRM limits each account on its own (7/s): one busy account does not slow another on the same amoCRM.
    private static IResult? Screen(EmulatorState state, string path, long arrivedAt, long accountId)
    {
        if (EmulatorState.IsApiOrToken(path) && !state.TryAcquireRateSlot(arrivedAt, accountId))
        {
            state.CountRateLimited(accountId);
            return AmoResults.Nginx(429);
        }

        if (state.IsOutage(accountId))
        {
            return AmoResults.Nginx(503);
        }

        return state.BlockModeFor(accountId) == 403 ? AmoResults.Nginx(403) : null;
    }

    private static IResult? ScreenAfterDelay(HttpContext context, EmulatorState state, string path, long accountId)
    {
        if (state.TryDequeueScripted(path) is { } scripted)
        {
            return scripted.Status is 204 or 304
                ? Results.StatusCode(scripted.Status)
                : Results.Text(scripted.Body, scripted.ContentType, Encoding.UTF8, scripted.Status);
        }

        if (!path.StartsWith("/api/v4/", StringComparison.Ordinal) && path != "/api/v4")
        {
            return null;
        }

        if (state.AbortConnections)
        {
            Abort(context);
            return null;
        }

        if (state.RollServerError(accountId) is { } status)
        {
            return status == 500 ? AmoResults.ServerError() : AmoResults.Nginx(status);
        }

        if (RequestEntry.Of(context)?.Bearer is not { } token || !state.IsAccessTokenValid(token))
        {
            return AmoResults.Unauthorized();
        }

        return state.BlockModeFor(accountId) == 402 ? AmoResults.PaymentRequired() : null;
    }

    internal static string? ReadBearer(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        return header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && header.Length > Scheme.Length
            ? header[Scheme.Length..].Trim()
            : null;
    }

    // One amoCRM request on its way to the log. Completed once: when the answer starts (so a test reading the
    // log right after its call sees it), or when the connection is aborted.
    private sealed class RequestEntry
    {
        private readonly EmulatorState _state;
        private readonly RecordedRequest _request;
        private int _completed;

        private RequestEntry(EmulatorState state, RecordedRequest request, long arrivedAt)
        {
            _state = state;
            _request = request;
            ArrivedAt = arrivedAt;
        }

        // Real-time stopwatch ticks taken with ReceivedAt, so the limiter and MaxRequestsInAnySecond see the same instant.
        public long ArrivedAt { get; }

        public string? Bearer => _request.Bearer;

        public long AccountId => _request.AccountId;

        public bool IsComplete => Volatile.Read(ref _completed) != 0;

        public static RequestEntry? Of(HttpContext context) => context.Items[typeof(RequestEntry)] as RequestEntry;

        public static async Task<RequestEntry> StartAsync(HttpContext context, EmulatorState state, string path)
        {
            var arrivedAt = TimeProvider.System.GetTimestamp();
            var receivedAt = TimeProvider.System.GetUtcNow();
            var request = context.Request;
            request.EnableBuffering();
            string body;
            using (var reader = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true))
            {
                body = await reader.ReadToEndAsync(context.RequestAborted);
            }

            request.Body.Position = 0;
            var bearer = ReadBearer(request);
            var account = (bearer is null ? null : state.AccountOf(bearer)) ?? state.MainAccount;
            var entry = new RequestEntry(
                state,
                new RecordedRequest(request.Method, path, request.QueryString.Value ?? "", body, bearer, 0, receivedAt, account.Id),
                arrivedAt);
            context.Items[typeof(RequestEntry)] = entry;
            context.Response.OnStarting(() =>
            {
                entry.Complete(context.Response.StatusCode);
                return Task.CompletedTask;
            });
            return entry;
        }

        public void Complete(int status)
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0)
            {
                _state.Record(_request with { Status = status });
            }
        }
    }
}
