// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title The staking and reward token
/// @notice A plain ERC-20 with 18 decimals. The owner mints (a devnet faucet, and the epoch contract's
/// reward budget); anyone burns their own (slashes that pay nobody are burned).
contract VerinferToken is ERC20Burnable, Ownable {
    constructor(address owner) ERC20("verinfer stake", "VRF") Ownable(owner) {}

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
