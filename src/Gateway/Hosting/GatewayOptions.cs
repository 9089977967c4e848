using Gateway.Operations;
using System.ComponentModel.DataAnnotations;

namespace Gateway.Hosting;

internal sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    [Required(ErrorMessage = "API_KEY is required (the key callers send in X-API-KEY)")]
    [MinLength(8, ErrorMessage = "API_KEY must be at least 8 characters long")]
    public string ApiKey { get; set; } = "";

    [Required(ErrorMessage = "DATA_DIR must not be empty")]
    public string DataDir { get; set; } = "./storage";

    // "*" (the old gateway's answer) or a list of exact origins.
    public IReadOnlyList<string> CorsAllowedOrigins { get; set; } = ["*"];

    public bool LogErrors { get; set; }

    public string DataDirFullPath => Path.GetFullPath(DataDir);
}
