using System.Text.Json.Nodes;
using Gateway.Hosting;

namespace Gateway.Amo;

// One translation of amoCRM failures into the inherited envelope, shared by every route that calls amoCRM.
internal static class AmoFailureEnvelope
{
    public static IResult ToEnvelope(AmoResult result, string error)
    {
        var (status, text) = result.Failure switch
        {
            AmoFailure.NotAuthorized => (StatusCodes.Status401Unauthorized, "AmoCRM authorization required"),
            AmoFailure.Unauthorized => (StatusCodes.Status401Unauthorized, "AmoCRM rejected the access token"),
            AmoFailure.BadRequest => (StatusCodes.Status400BadRequest, error),
            AmoFailure.PaymentRequired => (StatusCodes.Status402PaymentRequired, "AmoCRM subscription has ended (402)"),
            AmoFailure.Forbidden => (StatusCodes.Status403Forbidden, "AmoCRM blocked this account or IP address (403)"),
            AmoFailure.NotFound => (StatusCodes.Status404NotFound, error),
            AmoFailure.RateLimited => (StatusCodes.Status429TooManyRequests, "AmoCRM rate limit exceeded"),
            AmoFailure.Timeout => (StatusCodes.Status504GatewayTimeout, "AmoCRM did not answer in time"),
            AmoFailure.Unreachable => (StatusCodes.Status502BadGateway, "AmoCRM is unreachable"),
            AmoFailure.ServerError => (StatusCodes.Status502BadGateway, "AmoCRM is unavailable"),
            // Only a guarded outbox call can be withdrawn; no route passes a guard, but the name must not say "unreadable".
            AmoFailure.Withdrawn => (StatusCodes.Status503ServiceUnavailable, "The amoCRM call was withdrawn before it was sent"),
            _ => (StatusCodes.Status502BadGateway, "AmoCRM answered with an unreadable body"),
        };

        return Envelope.Fail(status, text, Details(result, error));
    }

    public static JsonObject Details(AmoResult result, string error)
    {
        var details = new JsonObject
        {
            ["error"] = error,
            ["description"] = result.Description,
            ["code"] = result.Failure.ToString(),
            ["http_code"] = result.HttpStatus,
        };
        if (result.Failure == AmoFailure.NotAuthorized)
        {
            details["authorize_url"] = "/oauth/authorize";
        }

        if (result.Body?["validation-errors"] is { } validation)
        {
            details["validation_errors"] = validation.DeepClone();
        }

        return details;
    }
}
