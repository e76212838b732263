using System.Net;
using System.Security.Claims;
using System.Text;
using LiveNews.Server.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveNews.Server.Tests.Newsroom;

/// <summary>Editors with JWT bearer tokens: only a valid token of the right issuer, audience and scope publishes.</summary>
[Collection("redis")]
public sealed class EditorAuthTests(RedisFixture redis) : IClassFixture<RedisFixture>, IAsyncLifetime
{
    private const string SigningKey = "a-test-signing-key-of-at-least-32-bytes!";
    private LiveNewsNode _node = null!;

    public Task InitializeAsync()
    {
        _node = new LiveNewsNode(redis.Configuration, Eventually.Prefix(), new()
        {
            ["Auth:Jwt:Issuer"] = "https://newsroom.example",
            ["Auth:Jwt:Audience"] = "livenews",
            ["Auth:Jwt:SigningKey"] = SigningKey,
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Publish_WithValidTokenAndScope_IsAccepted()
    {
        var response = await PublishWithAsync(Token());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Publish_WithApiKeyWhileJwtConfigured_IsAccepted()
    {
        using var editor = _node.Editor();

        var response = await editor.PostJsonAsync("/api/breaking", new { headline = "By key" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("issuer")]
    [InlineData("audience")]
    [InlineData("expired")]
    [InlineData("signature")]
    public async Task Publish_WithInvalidToken_Is401(string flaw)
    {
        var token = flaw switch
        {
            "issuer" => Token(issuer: "https://evil.example"),
            "audience" => Token(audience: "someone-else"),
            "expired" => Token(expires: DateTime.UtcNow.AddMinutes(-5)),
            _ => Token(key: "another-signing-key-of-at-least-32-bytes"),
        };

        var response = await PublishWithAsync(token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Publish_WithTokenLackingScope_Is403()
    {
        var response = await PublishWithAsync(Token(scope: "share"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private async Task<HttpResponseMessage> PublishWithAsync(string token)
    {
        using var client = _node.Anonymous();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return await client.PostJsonAsync("/api/breaking", new { headline = "By token" });
    }

    private static string Token(string issuer = "https://newsroom.example", string audience = "livenews", string scope = "publish share", DateTime? expires = null, string key = SigningKey) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", "editor-1"), new Claim("scope", scope)]),
            NotBefore = DateTime.UtcNow.AddMinutes(-10),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
}
