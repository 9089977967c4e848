using Microsoft.AspNetCore.Diagnostics;

namespace Gateway.Hosting;

internal sealed partial class UnhandledExceptionHandler(ILogger<UnhandledExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException bad)
        {
            // Kestrel's own rejections (body too large, malformed framing) are the caller's fault.
            await Envelope.WriteAsync(httpContext, bad.StatusCode, new Envelope { Success = false, Error = "Bad request" });
            return true;
        }

        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The caller hung up; nothing to answer and nothing went wrong on our side.
            return true;
        }

        if (exception is System.Data.Common.DbException)
        {
            // The database is down, full or locked: nothing was acknowledged, so the caller may safely send it again.
            LogStorageUnavailable(exception, httpContext.Request.Method, httpContext.Request.Path);
            httpContext.Response.Headers.RetryAfter = "5";
            await Envelope.WriteAsync(httpContext, StatusCodes.Status503ServiceUnavailable,
                new Envelope { Success = false, Error = "Storage temporarily unavailable, retry later" });
            return true;
        }

        LogUnhandled(exception, httpContext.Request.Method, httpContext.Request.Path);
        await Envelope.WriteAsync(httpContext, StatusCodes.Status500InternalServerError,
            new Envelope { Success = false, Error = "An unexpected error occurred" });
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Database unavailable on {Method} {Path}")]
    private partial void LogStorageUnavailable(Exception exception, string method, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    private partial void LogUnhandled(Exception exception, string method, string path);
}

internal static class ErrorHandlingExtensions
{
    public static IServiceCollection AddEnvelopeErrors(this IServiceCollection services)
    {
        services.AddExceptionHandler<UnhandledExceptionHandler>();
        services.AddProblemDetails();
        return services;
    }

    // Every bodiless failure (404, 405 from routing) becomes the inherited envelope.
    public static IApplicationBuilder UseEnvelopeErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            var status = http.Response.StatusCode;
            var envelope = status switch
            {
                StatusCodes.Status404NotFound => new Envelope { Success = false, Error = $"Endpoint not found: {http.Request.Path}" },
                StatusCodes.Status405MethodNotAllowed => new Envelope { Success = false, Error = $"Method {http.Request.Method} not allowed for {http.Request.Path}" },
                StatusCodes.Status415UnsupportedMediaType => new Envelope { Success = false, Error = "Unsupported content type" },
                _ => new Envelope { Success = false, Error = ReasonOf(status) },
            };
            await Envelope.WriteAsync(http, status, envelope);
        });
        return app;
    }

    private static string ReasonOf(int status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Request failed";
}
