// Cognito sign-in the way Amplify does it from a browser: the Cognito Identity Provider JSON
// API (InitiateAuth with USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH to refresh), tokens kept in
// localStorage under Amplify's key names, and Amplify's expiry rule: a token counts as expired
// when `now + clockDrift + 5 s > exp`, clockDrift being (the token's iat - the local clock)
// measured when the token arrived, so a wrong local clock does not cause endless refreshes.

const TARGET_PREFIX = "AWSCognitoIdentityProviderService.";
const TOLERANCE_MS = 5000;

export class AuthError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

// Signed out (no session, or a refresh token that no longer works): the user must log in.
export class SessionEnded extends AuthError {}

export function decodeJwt(token) {
  const payload = token.split(".")[1];
  const padded = payload.replace(/-/g, "+").replace(/_/g, "/");
  const json = atob(padded + "=".repeat((4 - (padded.length % 4)) % 4));
  return JSON.parse(json);
}

export class CognitoAuth {
  constructor({ cognitoConfig, storage }) {
    this.clientId = cognitoConfig.clientId;
    this.endpoint =
      cognitoConfig.endpoint || `https://cognito-idp.${cognitoConfig.region}.amazonaws.com/`;
    this.storage = storage;
    this.prefix = `CognitoIdentityServiceProvider.${this.clientId}`;
    this.refreshing = null;
  }

  async call(action, body) {
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": TARGET_PREFIX + action,
        },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new AuthError("NetworkError", "Cannot reach the sign-in service. Please try again.");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = String(data.__type || `HTTP${response.status}`).split("#").pop();
      throw new AuthError(code, data.message || data.Message || code);
    }
    return data;
  }

  get username() {
    return this.storage.getItem(`${this.prefix}.LastAuthUser`);
  }

  key(name, username = this.username) {
    return `${this.prefix}.${username}.${name}`;
  }

  tokens() {
    const username = this.username;
    if (!username) return null;
    const idToken = this.storage.getItem(this.key("idToken", username));
    const refreshToken = this.storage.getItem(this.key("refreshToken", username));
    if (!idToken || !refreshToken) return null;
    return {
      username,
      idToken,
      accessToken: this.storage.getItem(this.key("accessToken", username)),
      refreshToken,
      clockDrift: Number(this.storage.getItem(this.key("clockDrift", username)) || 0),
    };
  }

  store(username, result) {
    const access = decodeJwt(result.AccessToken);
    const clockDrift = access.iat * 1000 - Date.now();
    this.storage.setItem(`${this.prefix}.LastAuthUser`, username);
    this.storage.setItem(this.key("idToken", username), result.IdToken);
    this.storage.setItem(this.key("accessToken", username), result.AccessToken);
    if (result.RefreshToken) {
      this.storage.setItem(this.key("refreshToken", username), result.RefreshToken);
    }
    this.storage.setItem(this.key("clockDrift", username), String(clockDrift));
  }

  async signIn(username, password) {
    const data = await this.call("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: this.clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password },
    });
    if (!data.AuthenticationResult) {
      throw new AuthError(data.ChallengeName || "Challenge", "This account needs a step the app does not support.");
    }
    // Cognito's username may differ in case from what was typed; the IdToken knows.
    const claims = decodeJwt(data.AuthenticationResult.IdToken);
    this.store(claims["cognito:username"] || username, data.AuthenticationResult);
    return this.currentUser();
  }

  signOut() {
    const username = this.username;
    if (username) {
      for (const name of ["idToken", "accessToken", "refreshToken", "clockDrift"]) {
        this.storage.removeItem(this.key(name, username));
      }
    }
    this.storage.removeItem(`${this.prefix}.LastAuthUser`);
  }

  currentUser() {
    const tokens = this.tokens();
    if (!tokens) return null;
    const claims = decodeJwt(tokens.idToken);
    return { username: claims["cognito:username"] || tokens.username, sub: claims.sub };
  }

  isExpired(token, clockDrift) {
    const { exp } = decodeJwt(token);
    return Date.now() + clockDrift + TOLERANCE_MS > exp * 1000;
  }

  // The IdToken to send, refreshed first when it has expired (or when forced after a 401).
  // Throws SessionEnded when there is no session or the refresh token is refused.
  async getIdToken({ forceRefresh = false } = {}) {
    const tokens = this.tokens();
    if (!tokens) throw new SessionEnded("NoSession", "Please log in.");
    const expired =
      this.isExpired(tokens.idToken, tokens.clockDrift) ||
      (tokens.accessToken && this.isExpired(tokens.accessToken, tokens.clockDrift));
    if (!forceRefresh && !expired) return tokens.idToken;
    if (!this.refreshing) {
      this.refreshing = this.refresh(tokens).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async refresh(tokens) {
    let data;
    try {
      data = await this.call("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: this.clientId,
        AuthParameters: { REFRESH_TOKEN: tokens.refreshToken },
      });
    } catch (error) {
      if (error.code === "NetworkError") throw error;
      this.signOut(); // refused (revoked, expired): the stored session is worthless
      throw new SessionEnded(error.code, "Your session has ended. Please log in again.");
    }
    this.store(tokens.username, data.AuthenticationResult);
    return data.AuthenticationResult.IdToken;
  }
}
