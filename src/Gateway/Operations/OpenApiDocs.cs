using System.Text.Json.Nodes;
using Gateway.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;

namespace Gateway.Operations;

// /openapi/v1.json: every route, the X-API-KEY scheme on the ones that need it, and worked examples for lead creation.
internal static class OpenApiDocs
{
    public const string SchemeName = "ApiKey";

    public static IServiceCollection AddGatewayOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "amoCRM Integration Gateway",
                    Version = "v1",
                    Description = "Every JSON answer is the envelope {success, message, data} or {success, error, details}. " +
                        "Every answer carries X-Request-Id (the caller's, if printable ASCII up to 128 characters, else a new one).",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeyAuthenticationHandler.HeaderName,
                    Description = "The API_KEY setting",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] });
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses["401"] = Json("Invalid or missing API key", """{"success":false,"error":"Invalid or missing API key","message":"Please provide valid X-API-KEY header"}""");
                }

                if (context.Description.HttpMethod == "POST" && context.Description.RelativePath == "api/v1/leads/unsorted")
                {
                    DescribeLeadCreation(operation);
                }

                return Task.CompletedTask;
            });
        });

    private static void DescribeLeadCreation(OpenApiOperation operation)
    {
        operation.Summary = "Create an unsorted lead (stored first, then delivered to amoCRM)";
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "Idempotency-Key",
            In = ParameterLocation.Header,
            Description = "Up to 200 characters; a repeat returns the first request's outcome and creates nothing",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 200 },
        });
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new()
                {
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Object, Required = new HashSet<string> { "lead", "contact" } },
                    Example = JsonNode.Parse("""
                        {"source":"website","form_name":"Contact Form","form_page":"https://mysite.uz/contact","pipeline_id":123456,
                         "lead":{"name":"Yangi mijoz","price":50000,"custom_fields":[{"field_id":789,"value":"text"},{"field_id":791,"enum_id":3}],"tags":["website",{"name":"hot-lead"}]},
                         "contact":{"name":"Alisher Navoiy","phone":"+998901234567","email":"a@example.uz"},
                         "utm":{"utm_source":"google","utm_medium":"cpc","utm_campaign":"spring_sale"},
                         "comment":"Mijoz mahsulot haqida so'radi"}
                        """),
                },
            },
        };
        operation.Responses ??= new OpenApiResponses();
        operation.Responses.Remove("200");
        operation.Responses["200"] = Json("Delivered to amoCRM", """
            {"success":true,"message":"Unsorted lead created successfully","data":{"id":42,"uid":"a1b2c3","source_uid":"gw-0f3c9d","lead_id":30001,"contact_id":40001,"note_status":"pending",
             "_embedded":{"unsorted":[{"uid":"a1b2c3","request_id":"gw-0f3c9d"}]}}}
            """);
        operation.Responses["202"] = Json("Stored and queued: amoCRM was unavailable, slow, unauthorized or busy", """
            {"success":true,"message":"Lead accepted and queued for delivery","data":{"id":42,"status":"queued","source_uid":"gw-0f3c9d"}}
            """);
        operation.Responses["400"] = Json("Not JSON, or amoCRM rejected the lead itself", """
            {"success":false,"error":"Invalid JSON","details":{"json_error":"'}' is invalid after a value."}}
            """);
        operation.Responses["422"] = Json("Validation failed", """
            {"success":false,"error":"Validation failed","details":{"lead.name":"Lead name is required","contact":"At least one contact field (name, phone, email) is required"}}
            """);
    }

    private static OpenApiResponse Json(string description, string example) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Example = JsonNode.Parse(example) } },
    };
}
