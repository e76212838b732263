namespace LiveNews.Server.Editors;

/// <summary>Who may act as an editor. Bound from the <c>Auth</c> section.</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Keys for CMS integrations, sent as <c>X-Api-Key</c>.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Bearer tokens for editors; unset means API keys only.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>
    /// How long an API-key sign-in lasts on a hub connection before the connection closes and the client
    /// signs in again: a key removed from configuration stops reading <c>newsroom</c> within this time.
    /// </summary>
    public TimeSpan ApiKeyRecheckInterval { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class ApiKeyOptions
{
    /// <summary>Who the key belongs to; appears in logs and the audit, never the key itself.</summary>
    public string Name { get; set; } = "";

    public string Key { get; set; } = "";

    /// <summary>Instead of <see cref="Key"/>: the key's SHA-256 as 64 hex digits, so configuration never holds the key.</summary>
    public string? KeySha256 { get; set; }

    /// <summary><c>publish</c>, <c>share</c>.</summary>
    public List<string> Scopes { get; set; } = [];
}

public sealed class JwtOptions
{
    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>Symmetric signing key (at least 32 bytes of UTF-8), for tokens the newsroom issues itself.</summary>
    public string? SigningKey { get; set; }

    /// <summary>An OpenID Connect authority whose published keys sign the tokens.</summary>
    public string? Authority { get; set; }

    internal bool IsConfigured => !string.IsNullOrWhiteSpace(SigningKey) || !string.IsNullOrWhiteSpace(Authority);
}
