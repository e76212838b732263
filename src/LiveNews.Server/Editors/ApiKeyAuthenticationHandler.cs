using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Editors;

/// <summary>Authenticates CMS integrations by <c>X-Api-Key</c>, compared in constant time.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    IOptionsMonitor<AuthOptions> authOptions,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeaderName, out var values))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        // Hashing first makes every comparison the same length, so timing tells nothing about the key.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(values.ToString()));
        ApiKeyOptions? match = null;
        foreach (var key in authOptions.CurrentValue.ApiKeys)
        {
            var expected = key.KeySha256 is { } hash ? Convert.FromHexString(hash) : SHA256.HashData(Encoding.UTF8.GetBytes(key.Key));
            if (CryptographicOperations.FixedTimeEquals(presented, expected))
            {
                match = key;
            }
        }

        if (match is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key."));
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, match.Name) };
        claims.AddRange(match.Scopes.Select(scope => new Claim(EditorScopes.ClaimType, scope)));
        var identity = new ClaimsIdentity(claims, SchemeName);
        // A key is checked again at least this often on long-lived connections: a removed key stops working there too.
        var properties = new AuthenticationProperties { ExpiresUtc = TimeProvider.GetUtcNow() + authOptions.CurrentValue.ApiKeyRecheckInterval };
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), properties, SchemeName)));
    }
}
