using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace LiveNews.Server.Editors;

internal static class EditorsServiceCollectionExtensions
{
    private const string EditorScheme = "Editor";

    /// <summary>
    /// Editors authenticate by API key or JWT bearer; readers stay anonymous. Policies are named after
    /// scopes (<c>publish</c>, <c>share</c>).
    /// </summary>
    public static IServiceCollection AddEditors(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(AuthOptions.SectionName);
        services.AddOptions<AuthOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<EditorApiOptions>()
            .Bind(configuration.GetSection(EditorApiOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<JsonBody>();
        services.AddSingleton<FailedSignIns>();
        services.AddSingleton<Idempotency>();
        var jwt = section.GetSection("Jwt").Get<JwtOptions>() ?? new JwtOptions();

        var authentication = services.AddAuthentication(EditorScheme)
            .AddPolicyScheme(EditorScheme, "API key or bearer token", scheme =>
                scheme.ForwardDefaultSelector = context =>
                    context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName) || !jwt.IsConfigured
                        ? ApiKeyAuthenticationHandler.SchemeName
                        : JwtBearerDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);

        if (jwt.IsConfigured)
        {
            authentication.AddJwtBearer(bearer =>
            {
                bearer.MapInboundClaims = false;
                if (!string.IsNullOrWhiteSpace(jwt.Authority))
                {
                    bearer.Authority = jwt.Authority;
                }

                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = jwt.Issuer,
                    ValidAudience = jwt.Audience,
                    ValidateIssuer = true,
                    ValidateAudience = true,
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    IssuerSigningKey = string.IsNullOrWhiteSpace(jwt.SigningKey) ? null : new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.SigningKey)),
                };
                bearer.Events = new JwtBearerEvents
                {
                    // Browsers cannot set headers on WebSockets: SignalR sends the token in the query string.
                    OnMessageReceived = context =>
                    {
                        if (context.HttpContext.Request.Path.StartsWithSegments("/hubs")
                            && context.Request.Query.TryGetValue("access_token", out var token))
                        {
                            context.Token = token;
                        }

                        return Task.CompletedTask;
                    },
                };
            });
        }

        services.AddAuthorizationBuilder()
            .AddPolicy(EditorScopes.Publish, policy => policy.RequireAuthenticatedUser().RequireAssertion(c => EditorScopes.HasScope(c.User, EditorScopes.Publish)))
            .AddPolicy(EditorScopes.Share, policy => policy.RequireAuthenticatedUser().RequireAssertion(c => EditorScopes.HasScope(c.User, EditorScopes.Share)));
        return services;
    }

    /// <summary>Failed sign-ins limited per address, then who the caller is and what it may do.</summary>
    public static WebApplication UseEditors(this WebApplication app)
    {
        // Not UseMiddleware: for an IMiddleware it adds a frame that awaits the rest, kept for as long as a
        // hub WebSocket stays open.
        var failedSignIns = app.Services.GetRequiredService<FailedSignIns>();
        app.Use(next => context => failedSignIns.InvokeAsync(context, next));
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
